import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  type PeerIdentity,
  PeerIdSchema,
  parsePeerSubject,
  TOKEN_QUERY_PARAMETER,
} from '@mpc-relay/protocol';
import {
  createRemoteJWKSet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { ConfigError } from '../config.js';
import { header } from '../events.js';
import { integerSetting, listSetting, settingText, stringSetting } from '../settings.js';
import { defaultJwtAlgorithms, isHmacAlgorithm, isJwtAlgorithm, JWT_ALGORITHMS } from './algorithms.js';
import { queryPeer } from './peer.js';
import type { AuthDecision, AuthMode, AuthRequest } from './types.js';

/**
 * `AUTH_MODE=jwt`: signed tokens (jose). The token's `sub` (`cli:ID` / `mpc:ID`) is the identity;
 * the connect query must name exactly that peer.
 *
 * - HS* with a shared secret: read from SSM (`JWT_SECRET_PARAMETER`, a SecureString, GetParameter
 *   WithDecryption through Powertools Parameters; first at cold start, then again once the cached
 *   value is older than `JWT_SECRET_MAX_AGE_SECONDS`, so a rotated secret applies without a cold
 *   start; `SSM_ENDPOINT` overrides the endpoint) or, for local use only, given directly in
 *   `JWT_SECRET`. The HMAC key is the secret's UTF-8 bytes (at least 32).
 * - RS*, PS*, ES*, EdDSA through a JWKS URL (`JWT_JWKS_URL`, jose's remote key set: cached,
 *   refetched when a token names an unknown `kid`, at most once per `JWT_JWKS_COOLDOWN_SECONDS`).
 * - `JWT_ALGORITHMS` pins the accepted algorithms (default: HS256 with a secret, RS256,ES256,EdDSA
 *   with a JWKS URL, both when both are set). `none` is never accepted; a token whose `alg` is not
 *   pinned is refused before any key is looked at (no HS/RS confusion: an HS token is refused on a
 *   stack that pins only asymmetric algorithms, and HS keys come only from the secret, never JWKS).
 * - Required claims `sub`, `exp`; `aud` / `iss` when `JWT_AUDIENCE` / `JWT_ISSUER` are set;
 *   `JWT_CLOCK_SKEW_SECONDS` (default 30) of tolerance on `exp` / `nbf`.
 * - Optional `teams` claim: array of team ids, passed on as a comma string in the context.
 * - Optional `peers` claim: array of peer ids, the only counterparts this peer may exchange messages
 *   with (the mpc ids a cli accepts, the cli ids an mpc may contact); a comma string in the context.
 *
 * Outcomes (documented in the README): no token -> 401 (`unauthorized`); a token that is present but
 * not acceptable (malformed, bad signature, expired, not yet valid, wrong aud/iss/alg, bad subject or
 * teams, identity mismatch) -> 403 (`deny`); configuration or key-source failures -> 403 too (fail
 * closed), logged at error level. Reasons go to the log only; the token itself never does.
 */

/** Minimum HS* secret length in bytes (RFC 7518 3.2: a key at least as long as the hash). */
export const MIN_SECRET_BYTES = 32;
/** At most this many teams in a token (the context and the connection items stay small). */
export const MAX_TEAMS = 50;
/** A team id: like a peer id (no `,`: teams travel as a comma string in the authorizer context). */
export const TEAM_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/** At most this many peers in a token's `peers` claim (it travels in the authorizer context). */
export const MAX_PEERS = 50;
/** Tokens longer than this are refused unparsed. */
export const MAX_TOKEN_LENGTH = 8192;

export interface JwtSettings {
  algorithms: readonly string[];
  secretParameter: string | undefined;
  secret: string | undefined;
  jwksUrl: string | undefined;
  audience: string | undefined;
  issuer: string | undefined;
  clockSkewSeconds: number;
  jwksCooldownSeconds: number;
  /** How long the SSM secret is cached before it is read again (Powertools `maxAge`). */
  secretMaxAgeSeconds: number;
  ssmEndpoint: string | undefined;
  region: string;
}

type Env = Record<string, string | undefined>;

function optional(env: Env, key: Parameters<typeof stringSetting>[1]): string | undefined {
  return stringSetting(env, key);
}

/** Reads and validates the jwt settings from the environment; throws ConfigError naming the variable. */
export function loadJwtSettings(env: Env = process.env): JwtSettings {
  const secretParameter = optional(env, 'JWT_SECRET_PARAMETER');
  // Not trimmed: a secret is bytes. Only an empty value counts as unset.
  const secret = settingText(env, 'JWT_SECRET');
  const jwksUrl = optional(env, 'JWT_JWKS_URL');
  if (secretParameter !== undefined && secret !== undefined) {
    throw new ConfigError('set JWT_SECRET_PARAMETER (SSM) or JWT_SECRET (local only), not both');
  }
  const hasSecret = secretParameter !== undefined || secret !== undefined;
  if (secret !== undefined && Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
    throw new ConfigError(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  if (jwksUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(jwksUrl);
    } catch {
      throw new ConfigError('JWT_JWKS_URL is not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ConfigError('JWT_JWKS_URL must be an https:// URL (http:// only for local tests)');
    }
  }
  const listed = listSetting(env, 'JWT_ALGORITHMS');
  for (const alg of listed) {
    if (!isJwtAlgorithm(alg)) {
      throw new ConfigError(
        `JWT_ALGORITHMS: ${JSON.stringify(alg)} is not accepted (one of ${JWT_ALGORITHMS.join(', ')})`,
      );
    }
  }
  const algorithms =
    listed.length > 0
      ? [...new Set(listed)]
      : defaultJwtAlgorithms({ secret: hasSecret, jwks: jwksUrl !== undefined });
  if (algorithms.length === 0) {
    throw new ConfigError(
      'jwt mode needs a key: JWT_SECRET_PARAMETER (or JWT_SECRET locally) or JWT_JWKS_URL',
    );
  }
  if (algorithms.some(isHmacAlgorithm) && !hasSecret) {
    throw new ConfigError(
      'JWT_ALGORITHMS lists HS* algorithms but no JWT_SECRET_PARAMETER / JWT_SECRET is set',
    );
  }
  if (algorithms.some((alg) => !isHmacAlgorithm(alg)) && jwksUrl === undefined) {
    throw new ConfigError('JWT_ALGORITHMS lists asymmetric algorithms but JWT_JWKS_URL is not set');
  }
  return {
    algorithms,
    secretParameter,
    secret,
    jwksUrl,
    audience: optional(env, 'JWT_AUDIENCE'),
    issuer: optional(env, 'JWT_ISSUER'),
    clockSkewSeconds: integerSetting(env, 'JWT_CLOCK_SKEW_SECONDS'),
    jwksCooldownSeconds: integerSetting(env, 'JWT_JWKS_COOLDOWN_SECONDS'),
    secretMaxAgeSeconds: integerSetting(env, 'JWT_SECRET_MAX_AGE_SECONDS'),
    ssmEndpoint: optional(env, 'SSM_ENDPOINT'),
    region: optional(env, 'AWS_REGION') ?? optional(env, 'AWS_DEFAULT_REGION') ?? 'us-east-1',
  };
}

// ---------------------------------------------------------------------------------------------
// Keys, cached per container.

const ssmProviders = new Map<string, { client: SSMClient; provider: SSMProvider }>();
const secretCache = new Map<string, Promise<Uint8Array>>();
const jwksCache = new Map<string, JWTVerifyGetKey>();

/** One Powertools SSM provider (and its cache) per region and endpoint. */
function ssmProvider(settings: JwtSettings): SSMProvider {
  const key = `${settings.region} ${settings.ssmEndpoint ?? ''}`;
  let entry = ssmProviders.get(key);
  if (!entry) {
    const client = new SSMClient({
      region: settings.region,
      ...(settings.ssmEndpoint ? { endpoint: settings.ssmEndpoint } : {}),
    });
    entry = { client, provider: new SSMProvider({ awsSdkV3Client: client }) };
    ssmProviders.set(key, entry);
  }
  return entry.provider;
}

function secretBytes(secret: string): Uint8Array {
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new ConfigError(`the jwt secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  return bytes;
}

/**
 * The HS* key: JWT_SECRET as is, or the SSM SecureString (GetParameter WithDecryption), cached by
 * Powertools for `JWT_SECRET_MAX_AGE_SECONDS` and then read again: a rotated secret takes effect in
 * running containers within that time. Concurrent handshakes share one read in flight; a failed
 * read is not cached (the next handshake tries again).
 */
export function hmacKey(settings: JwtSettings): Promise<Uint8Array> {
  if (settings.secret !== undefined) {
    const cacheKey = `env:${settings.secret}`;
    let cached = secretCache.get(cacheKey);
    if (!cached) {
      cached = Promise.resolve().then(() => secretBytes(settings.secret as string));
      secretCache.set(cacheKey, cached);
      cached.catch(() => secretCache.delete(cacheKey));
    }
    return cached;
  }
  const name = settings.secretParameter;
  if (name === undefined) return Promise.reject(new ConfigError('no HS* secret configured'));
  const inflightKey = `ssm:${settings.region}:${settings.ssmEndpoint ?? ''}:${name}`;
  let inflight = secretCache.get(inflightKey);
  if (!inflight) {
    inflight = ssmProvider(settings)
      .get(name, { decrypt: true, maxAge: settings.secretMaxAgeSeconds })
      .then((value) => {
        if (typeof value !== 'string' || value === '') {
          throw new ConfigError(`SSM parameter ${name} has no value`);
        }
        return secretBytes(value);
      });
    secretCache.set(inflightKey, inflight);
    const settled = () => secretCache.delete(inflightKey);
    inflight.then(settled, settled);
  }
  return inflight;
}

function remoteKeySet(settings: JwtSettings): JWTVerifyGetKey {
  const url = settings.jwksUrl as string;
  const cacheKey = `${url} ${settings.jwksCooldownSeconds}`;
  let keySet = jwksCache.get(cacheKey);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(url), {
      cooldownDuration: settings.jwksCooldownSeconds * 1000,
      timeoutDuration: 3000,
    });
    jwksCache.set(cacheKey, keySet);
  }
  return keySet;
}

/**
 * Starts reading the HS* secret during the Lambda init phase (cold start) so the first handshake
 * does not wait for SSM. Never throws; a failure is retried by the first handshake.
 */
export function prefetchJwtKeys(env: Env = process.env): void {
  try {
    if (settingText(env, 'AUTH_MODE') !== 'jwt') return;
    const settings = loadJwtSettings(env);
    if (settings.algorithms.some(isHmacAlgorithm)) hmacKey(settings).catch(() => undefined);
  } catch {
    // the handshake reports the configuration problem
  }
}

/** Forgets cached secrets and key sets (tests). */
export function resetJwtCaches(): void {
  secretCache.clear();
  jwksCache.clear();
  for (const { client, provider } of ssmProviders.values()) {
    provider.clearCache();
    client.destroy();
  }
  ssmProviders.clear();
}

// ---------------------------------------------------------------------------------------------
// The token.

/**
 * The token: `Authorization: Bearer <jwt>` (a bare `<jwt>` is accepted too: the signer sends its
 * token as the header value) or the `token` query parameter. Both present and different: refused.
 */
export function extractToken(
  request: Pick<AuthRequest, 'headers' | 'query'>,
): { token: string; source: 'header' | 'query' } | { error: 'missing' | 'ambiguous' } {
  const raw = header(request.headers, 'authorization')?.trim();
  let fromHeader: string | undefined;
  if (raw) {
    const bearer = /^bearer(?:\s+(.*))?$/i.exec(raw);
    fromHeader = (bearer ? (bearer[1] ?? '') : raw).trim() || undefined;
  }
  const fromQuery = request.query[TOKEN_QUERY_PARAMETER]?.trim() || undefined;
  if (fromHeader !== undefined && fromQuery !== undefined && fromHeader !== fromQuery) {
    return { error: 'ambiguous' };
  }
  if (fromHeader !== undefined) return { token: fromHeader, source: 'header' };
  if (fromQuery !== undefined) return { token: fromQuery, source: 'query' };
  return { error: 'missing' };
}

/** Why a token was refused, for the log (jose's error code, claim; never the token). */
function refusal(error: unknown): {
  reason: string;
  errorCode?: string;
  claim?: string;
  serverSide?: boolean;
} {
  if (error instanceof ConfigError) return { reason: `configuration: ${error.message}`, serverSide: true };
  if (error instanceof joseErrors.JWTExpired) return { reason: 'token expired', errorCode: error.code };
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const what =
      error.claim === 'nbf'
        ? 'token not yet valid'
        : error.reason === 'missing'
          ? `required claim "${error.claim}" missing`
          : `claim "${error.claim}" check failed`;
    return { reason: what, errorCode: error.code, claim: error.claim };
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return { reason: 'algorithm not allowed', errorCode: error.code };
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return { reason: 'signature verification failed', errorCode: error.code };
  if (error instanceof joseErrors.JWKSNoMatchingKey)
    return { reason: 'no key in the JWKS matches the token (unknown kid?)', errorCode: error.code };
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid)
    return { reason: 'JWKS unavailable', errorCode: error.code, serverSide: true };
  if (error instanceof joseErrors.JOSEError) return { reason: 'malformed token', errorCode: error.code };
  // fetch failures (JWKS down) and SDK errors (SSM): the relay's side.
  const name = error instanceof Error ? error.name : typeof error;
  return { reason: `key source failure (${name})`, serverSide: true };
}

/** `teams` claim -> team ids; undefined when absent; throws when present but malformed. */
export function teamsFromClaims(payload: JWTPayload): string[] | undefined {
  const teams = payload.teams;
  if (teams === undefined) return undefined;
  if (!Array.isArray(teams) || teams.length > MAX_TEAMS)
    throw new Error(`"teams" must be an array of at most ${MAX_TEAMS} team ids`);
  for (const team of teams) {
    if (typeof team !== 'string' || !TEAM_ID_PATTERN.test(team)) {
      throw new Error('"teams" holds a value that is not a team id');
    }
  }
  return [...new Set(teams as string[])];
}

/** `peers` claim -> peer ids; undefined when absent; throws when present but malformed. */
export function peersFromClaims(payload: JWTPayload): string[] | undefined {
  const peers = payload.peers;
  if (peers === undefined) return undefined;
  if (!Array.isArray(peers) || peers.length > MAX_PEERS)
    throw new Error(`"peers" must be an array of at most ${MAX_PEERS} peer ids`);
  for (const peer of peers) {
    if (typeof peer !== 'string' || !PeerIdSchema.safeParse(peer).success) {
      throw new Error('"peers" holds a value that is not a peer id');
    }
  }
  return [...new Set(peers as string[])];
}

/** Verifies a token and binds it to the connect query. */
export async function authorizeJwt(request: AuthRequest, env: Env = process.env): Promise<AuthDecision> {
  const extracted = extractToken(request);
  if ('error' in extracted) {
    return extracted.error === 'missing'
      ? { effect: 'unauthorized', reason: 'no token (Authorization: Bearer ... or ?token=)' }
      : { effect: 'deny', reason: 'two different tokens (header and query)' };
  }
  const { token, source } = extracted;
  if (token.length > MAX_TOKEN_LENGTH)
    return { effect: 'deny', reason: `token longer than ${MAX_TOKEN_LENGTH} characters` };
  const settings = loadJwtSettings(env);
  const getKey: JWTVerifyGetKey = async (protectedHeader, input) => {
    const alg = protectedHeader.alg ?? '';
    if (isHmacAlgorithm(alg)) return hmacKey(settings);
    return remoteKeySet(settings)(protectedHeader, input);
  };
  const options: JWTVerifyOptions = {
    algorithms: [...settings.algorithms],
    clockTolerance: settings.clockSkewSeconds,
    requiredClaims: ['sub', 'exp'],
    ...(settings.audience !== undefined ? { audience: settings.audience } : {}),
    ...(settings.issuer !== undefined ? { issuer: settings.issuer } : {}),
  };
  let payload: JWTPayload;
  let alg: string | undefined;
  try {
    const verified = await jwtVerify(token, getKey, options);
    payload = verified.payload;
    alg = verified.protectedHeader.alg;
  } catch (error) {
    const { reason, errorCode, claim, serverSide } = refusal(error);
    return {
      effect: 'deny',
      reason,
      log: {
        tokenSource: source,
        ...(errorCode ? { errorCode } : {}),
        ...(claim ? { claim } : {}),
        ...(serverSide ? { serverSide } : {}),
      },
    };
  }
  const subject = typeof payload.sub === 'string' ? parsePeerSubject(payload.sub) : undefined;
  if (!subject)
    return {
      effect: 'deny',
      reason: 'token subject is not cli:ID or mpc:ID',
      log: { tokenSource: source, alg },
    };
  let teams: string[] | undefined;
  let peers: string[] | undefined;
  try {
    teams = teamsFromClaims(payload);
  } catch (error) {
    return {
      effect: 'deny',
      reason: `bad teams claim: ${(error as Error).message}`,
      log: { tokenSource: source, alg, tokenSubject: payload.sub },
    };
  }
  try {
    peers = peersFromClaims(payload);
  } catch (error) {
    return {
      effect: 'deny',
      reason: `bad peers claim: ${(error as Error).message}`,
      log: { tokenSource: source, alg, tokenSubject: payload.sub },
    };
  }
  const peer: PeerIdentity | undefined = queryPeer(request.query);
  const base = { tokenSource: source, alg, tokenSubject: `${subject.type}:${subject.id}` };
  if (!peer) {
    // A valid token with a malformed query: $connect answers 400 naming the problem (nothing stored).
    return {
      effect: 'allow',
      peer: undefined,
      reason: 'invalid connect query: $connect answers 400',
      log: base,
    };
  }
  if (peer.type !== subject.type || peer.id !== subject.id) {
    return {
      effect: 'deny',
      reason: 'identity mismatch: the connect query names another peer than the token subject',
      log: { ...base, queryPeer: `${peer.type}:${peer.id}` },
    };
  }
  return {
    effect: 'allow',
    peer,
    ...(teams && teams.length > 0 ? { teams } : {}),
    ...(peers !== undefined ? { peers } : {}),
    // `exp` is required (requiredClaims) and jose checked it is a number.
    ...(typeof payload.exp === 'number'
      ? { tokenExpiry: { exp: payload.exp, skewSeconds: settings.clockSkewSeconds } }
      : {}),
    log: base,
  };
}

export const jwtAuthMode: AuthMode = {
  name: 'jwt',
  authorize: (request) => authorizeJwt(request),
};
