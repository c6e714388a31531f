import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@smithy/core/checksum';
import {
  ALGORITHM_IDENTIFIER,
  getCanonicalHeaders,
  getSigningKey,
  SignatureV4Base,
} from '@smithy/signature-v4';
import type { HttpRequest, QueryParameterBag } from '@smithy/types';

/** An access key pair, as `~/.aws/credentials` and the SDKs hold it. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The signing names of the endpoints the relay serves. */
export type SigningService = 'execute-api' | 'lambda' | 'dynamodb';

/** How far a signature's date may be from the verifier's clock (AWS: 15 minutes, either way). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** Longest presigned URL lifetime AWS accepts (7 days). */
export const MAX_PRESIGN_SECONDS = 604_800;

export type SigV4FailureCode =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'UnrecognizedClientException'
  | 'InvalidSignatureException';

export interface SigV4Failure {
  ok: false;
  code: SigV4FailureCode;
  message: string;
  /** The access key id the request named (never a secret), for the log. */
  accessKeyId?: string;
  /** Signature mismatch: what the verifier computed, as AWS prints it in its answer. */
  canonicalRequest?: string;
  stringToSign?: string;
}

export type SigV4Result = { ok: true; accessKeyId: string; presigned: boolean } | SigV4Failure;

/** The parts of an HTTP request a signature covers. */
export interface SignedRequest {
  method: string;
  /** The request target as received (`/path?query`), not decoded. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

export interface SigV4VerifierOptions {
  service: SigningService;
  region: string;
  /** The key pairs accepted (usually one). */
  credentials: AwsCredentials | readonly AwsCredentials[];
  /** Milliseconds since the epoch; tests inject one to move the verifier's clock. */
  now?: () => number;
}

export interface SigV4Verifier {
  readonly service: SigningService;
  readonly region: string;
  verify(request: SignedRequest): Promise<SigV4Result>;
}

/**
 * The canonical request and string to sign come from the SDK's own signer (`@smithy/signature-v4`,
 * the code every AWS SDK for JavaScript client signs with) and its SHA-256 (`@smithy/core/checksum`,
 * the one the SDK clients pass that signer), so a request the SDK signed verifies by construction
 * and no part of the algorithm is re-implemented here.
 */
class CanonicalForm extends SignatureV4Base {
  constructor(service: string, region: string) {
    super({ service, region, credentials: { accessKeyId: '', secretAccessKey: '' }, sha256: Sha256 });
  }
  canonicalRequest(request: HttpRequest, signedHeaders: ReadonlySet<string>, payloadHash: string): string {
    const canonicalHeaders = getCanonicalHeaders(request, undefined, new Set(signedHeaders));
    return this.createCanonicalRequest(request, canonicalHeaders, payloadHash);
  }
  stringToSign(longDate: string, scope: string, canonicalRequest: string): Promise<string> {
    return this.createStringToSign(longDate, scope, canonicalRequest, ALGORITHM_IDENTIFIER);
  }
}

/** A fresh random key pair in the shapes AWS uses (`AKIA` + 16, 40 characters of secret). */
export function generateCredentials(): AwsCredentials {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let id = 'AKIA';
  for (const byte of randomBytes(16)) id += alphabet[byte % alphabet.length];
  return { accessKeyId: id, secretAccessKey: randomBytes(30).toString('base64') };
}

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INVALID_TOKEN = 'The security token included in the request is invalid.';
const QUERY_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Signature',
  'X-Amz-Date',
  'X-Amz-SignedHeaders',
];
const EMPTY_SHA256 = createHash('sha256').digest('hex');

interface Claimed {
  presigned: boolean;
  accessKeyId: string;
  scopeDate: string;
  scopeRegion: string;
  scopeService: string;
  scopeTerminal: string;
  signedHeaders: string[];
  signature: string;
  /** `YYYYMMDDTHHMMSSZ`. */
  longDate: string;
  expiresSeconds?: number;
  sessionToken?: string;
}

const fail = (code: SigV4FailureCode, message: string, accessKeyId?: string): SigV4Failure => ({
  ok: false,
  code,
  message,
  ...(accessKeyId !== undefined ? { accessKeyId } : {}),
});

/** `YYYYMMDDTHHMMSSZ` of an epoch time, SigV4's date format. */
export function amzDate(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

function parseAmzDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : ms;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** `key=value&...` decoded into the bag the Smithy signer canonicalises (repeated keys as arrays). */
function parseQuery(raw: string): QueryParameterBag {
  const query: QueryParameterBag = {};
  if (raw === '') return query;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : safeDecode(pair.slice(eq + 1));
    const existing = query[key];
    if (existing === undefined || existing === null) query[key] = value;
    else query[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function single(query: QueryParameterBag, key: string): string | undefined {
  const value = query[key];
  return Array.isArray(value) ? value[0] : (value ?? undefined);
}

/** What the request claims (Authorization header or presigned query), or why it cannot be read. */
function readClaim(headers: IncomingHttpHeaders, query: QueryParameterBag): Claimed | SigV4Failure {
  const authorization = header(headers, 'authorization');
  const queryAlgorithm = single(query, 'X-Amz-Algorithm');
  if (authorization === undefined && queryAlgorithm === undefined) {
    return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  if (authorization !== undefined) {
    const match = /^\s*(\S+)\s+(.*)$/s.exec(authorization);
    if (!match || match[1] !== ALGORITHM_IDENTIFIER) {
      return fail(
        'IncompleteSignatureException',
        `Authorization header requires the ${ALGORITHM_IDENTIFIER} algorithm (SigV4). Authorization=${match?.[1] ?? authorization.split(/\s/)[0]}`,
      );
    }
    const parts = new Map<string, string>();
    for (const part of match[2]!.split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) parts.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const amz = header(headers, 'x-amz-date');
    const date = header(headers, 'date');
    const missing = [
      ...['Credential', 'Signature', 'SignedHeaders']
        .filter((name) => !parts.get(name))
        .map((name) => `Authorization header requires '${name}' parameter.`),
      ...(amz === undefined && date === undefined
        ? ["Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."]
        : []),
    ];
    if (missing.length > 0) {
      return fail(
        'IncompleteSignatureException',
        `${missing.join(' ')} Authorization=${ALGORITHM_IDENTIFIER}`,
      );
    }
    // A `Date` header (RFC 7231) stands for X-Amz-Date when that is absent, as AWS allows.
    const fromDate = amz === undefined && date !== undefined ? Date.parse(date) : Number.NaN;
    const longDate = amz ?? (Number.isNaN(fromDate) ? (date ?? '') : amzDate(fromDate));
    return claimFrom(false, parts.get('Credential')!, parts.get('SignedHeaders')!, parts.get('Signature')!, {
      longDate,
      sessionToken: header(headers, 'x-amz-security-token'),
    });
  }
  const missing = QUERY_PARAMS.filter((name) => !single(query, name));
  if (queryAlgorithm !== ALGORITHM_IDENTIFIER || missing.length > 0) {
    return fail(
      'IncompleteSignatureException',
      `AWS query-string parameters must include ${QUERY_PARAMS.map((p) => `'${p}'`).join(', ')} with X-Amz-Algorithm ${ALGORITHM_IDENTIFIER}. Re-examine the query-string parameters.`,
    );
  }
  const expires = single(query, 'X-Amz-Expires');
  const expiresSeconds = expires === undefined ? MAX_PRESIGN_SECONDS : Number(expires);
  if (!/^\d+$/.test(expires ?? '0') || expiresSeconds < 1 || expiresSeconds > MAX_PRESIGN_SECONDS) {
    return fail(
      'IncompleteSignatureException',
      `X-Amz-Expires must be a whole number of seconds from 1 to ${MAX_PRESIGN_SECONDS}.`,
    );
  }
  return claimFrom(
    true,
    single(query, 'X-Amz-Credential')!,
    single(query, 'X-Amz-SignedHeaders')!,
    single(query, 'X-Amz-Signature')!,
    {
      longDate: single(query, 'X-Amz-Date')!,
      expiresSeconds,
      sessionToken: single(query, 'X-Amz-Security-Token'),
    },
  );
}

function claimFrom(
  presigned: boolean,
  credential: string,
  signedHeaders: string,
  signature: string,
  extra: { longDate: string; expiresSeconds?: number; sessionToken?: string | undefined },
): Claimed | SigV4Failure {
  const scope = credential.split('/');
  if (scope.length !== 5 || scope.some((part) => part === '')) {
    return fail(
      'IncompleteSignatureException',
      `Credential should be in the form <access key id>/<date>/<region>/<service>/aws4_request, got '${credential}'.`,
    );
  }
  const [accessKeyId, scopeDate, scopeRegion, scopeService, scopeTerminal] = scope as [
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    presigned,
    accessKeyId,
    scopeDate,
    scopeRegion,
    scopeService,
    scopeTerminal,
    signedHeaders: signedHeaders.split(';').map((name) => name.trim().toLowerCase()),
    signature: signature.toLowerCase(),
    longDate: extra.longDate,
    ...(extra.expiresSeconds !== undefined ? { expiresSeconds: extra.expiresSeconds } : {}),
    ...(extra.sessionToken !== undefined ? { sessionToken: extra.sessionToken } : {}),
  };
}

/** The AWS clock rule for a header signature: within 15 minutes of now, either way. */
function clockFailure(claim: Claimed, signedAt: number, now: number): string | undefined {
  if (claim.presigned) {
    const expiresAt = signedAt + (claim.expiresSeconds ?? MAX_PRESIGN_SECONDS) * 1000;
    if (now > expiresAt) {
      return `Signature expired: ${amzDate(expiresAt)} is now earlier than ${amzDate(now)} (${claim.longDate} + ${claim.expiresSeconds} sec.)`;
    }
  } else if (signedAt < now - MAX_CLOCK_SKEW_MS) {
    return `Signature expired: ${claim.longDate} is now earlier than ${amzDate(now - MAX_CLOCK_SKEW_MS)} (${amzDate(now)} - 15 min.)`;
  }
  if (signedAt > now + MAX_CLOCK_SKEW_MS) {
    return `Signature not yet current: ${claim.longDate} is still later than ${amzDate(now + MAX_CLOCK_SKEW_MS)} (${amzDate(now)} + 15 min.)`;
  }
  return undefined;
}

/**
 * Verifies AWS Signature Version 4 as the service would: the Authorization header or a presigned
 * query string, the access key, the credential scope (date, region, service), the clock rule and
 * the signature over method, path, query, signed headers and the body's real SHA-256 (a body changed
 * after signing fails even when `x-amz-content-sha256` still carries the old hash). Signing keys are
 * derived once per key, day, region and service; signatures are compared in constant time.
 */
export function createSigV4Verifier(options: SigV4VerifierOptions): SigV4Verifier {
  const { service, region } = options;
  const now = options.now ?? Date.now;
  const keys = new Map<string, AwsCredentials>();
  for (const pair of Array.isArray(options.credentials) ? options.credentials : [options.credentials]) {
    keys.set(pair.accessKeyId, pair);
  }
  const form = new CanonicalForm(service, region);
  // Key derivation is four HMACs; cache it per key and day (a day's scope changes at 00:00 UTC).
  const signingKeys = new Map<string, Promise<Uint8Array>>();
  const signingKey = (pair: AwsCredentials, shortDate: string): Promise<Uint8Array> => {
    const cacheKey = `${pair.accessKeyId}/${shortDate}`;
    let key = signingKeys.get(cacheKey);
    if (!key) {
      if (signingKeys.size >= 64) signingKeys.clear();
      key = getSigningKey(Sha256, pair, shortDate, region, service);
      signingKeys.set(cacheKey, key);
    }
    return key;
  };

  return {
    service,
    region,
    async verify(request) {
      const q = request.url.indexOf('?');
      const path = q < 0 ? request.url : request.url.slice(0, q);
      const query = parseQuery(q < 0 ? '' : request.url.slice(q + 1));
      const claim = readClaim(request.headers, query);
      if ('ok' in claim) return claim;
      const { accessKeyId } = claim;
      const pair = keys.get(accessKeyId);
      if (!pair || claim.sessionToken !== undefined)
        return fail('UnrecognizedClientException', INVALID_TOKEN, accessKeyId);
      if (claim.scopeTerminal !== 'aws4_request') {
        return fail(
          'InvalidSignatureException',
          `Credential should be scoped with a valid terminator: 'aws4_request', not '${claim.scopeTerminal}'. `,
          accessKeyId,
        );
      }
      if (claim.scopeService !== service) {
        return fail(
          'InvalidSignatureException',
          `Credential should be scoped to correct service: '${service}'. `,
          accessKeyId,
        );
      }
      if (claim.scopeRegion !== region) {
        return fail(
          'InvalidSignatureException',
          `Credential should be scoped to a valid region, not '${claim.scopeRegion}'. This endpoint serves '${region}'. `,
          accessKeyId,
        );
      }
      const signedAt = parseAmzDate(claim.longDate);
      if (signedAt === undefined) {
        return fail(
          'IncompleteSignatureException',
          `Date must be in ISO-8601 'basic format' (YYYYMMDD'T'HHMMSS'Z'), got '${claim.longDate}'.`,
          accessKeyId,
        );
      }
      if (claim.scopeDate !== claim.longDate.slice(0, 8)) {
        return fail(
          'InvalidSignatureException',
          `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${claim.scopeDate}' != '${claim.longDate.slice(0, 8)}', from '${claim.longDate}'.`,
          accessKeyId,
        );
      }
      if (!claim.signedHeaders.includes('host')) {
        return fail(
          'InvalidSignatureException',
          "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
          accessKeyId,
        );
      }
      const clock = clockFailure(claim, signedAt, now());
      if (clock) return fail('InvalidSignatureException', clock, accessKeyId);

      const signed = new Set(claim.signedHeaders);
      const headers: Record<string, string> = {};
      for (const name of signed) {
        const value = header(request.headers, name);
        if (value !== undefined) headers[name] = value;
      }
      const payloadHash =
        request.body.length === 0 ? EMPTY_SHA256 : createHash('sha256').update(request.body).digest('hex');
      const canonicalRequest = form.canonicalRequest(
        { method: request.method.toUpperCase(), protocol: 'http:', hostname: '', path, query, headers },
        signed,
        payloadHash,
      );
      const scope = `${claim.scopeDate}/${region}/${service}/aws4_request`;
      const stringToSign = await form.stringToSign(claim.longDate, scope, canonicalRequest);
      const key = await signingKey(pair, claim.scopeDate);
      const expected = createHmac('sha256', key).update(stringToSign).digest();
      const given = /^[0-9a-f]{64}$/.test(claim.signature) ? Buffer.from(claim.signature, 'hex') : undefined;
      if (!given || !timingSafeEqual(expected, given)) {
        return {
          ...fail('InvalidSignatureException', SIGNATURE_MISMATCH, accessKeyId),
          canonicalRequest,
          stringToSign,
        };
      }
      return { ok: true, accessKeyId, presigned: claim.presigned };
    },
  };
}

/** An answer to send: status, headers and body. */
export interface AuthErrorResponse {
  status: number;
  headers: Record<string, string | number>;
  body: string;
}

/**
 * A refused signature as the service answers it, so the SDK raises the named exception:
 * execute-api and Lambda (REST-JSON) with `x-amzn-ErrorType` and `{"message"}`, 403; DynamoDB
 * (JSON 1.0) with `{"__type":"com.amazon.coral.service#...","message"}`, 400. A signature mismatch
 * carries the canonical request and string to sign the service computed (as AWS prints them;
 * neither holds a secret), except on DynamoDB, which does not print them.
 */
export function authErrorResponse(
  service: SigningService,
  failure: SigV4Failure,
  requestId: string,
): AuthErrorResponse {
  let message = failure.message;
  if (service === 'dynamodb') {
    if (failure.code === 'MissingAuthenticationTokenException')
      message = 'Request is missing Authentication Token';
    const body = JSON.stringify({ __type: `com.amazon.coral.service#${failure.code}`, message });
    return {
      status: 400,
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': Buffer.byteLength(body),
        'x-amzn-RequestId': requestId,
      },
      body,
    };
  }
  if (failure.canonicalRequest !== undefined && failure.stringToSign !== undefined) {
    message += `\n\nThe Canonical String for this request should have been\n'${failure.canonicalRequest}'\n\nThe String-to-Sign should have been\n'${failure.stringToSign}'\n`;
  }
  const body = JSON.stringify({ message });
  return {
    status: 403,
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-amzn-ErrorType': failure.code,
      'x-amzn-RequestId': requestId,
    },
    body,
  };
}
