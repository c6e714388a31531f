import { createHash } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import {
  amzDate,
  authErrorResponse,
  createSigV4Verifier,
  generateCredentials,
  type SignedRequest,
} from '../src/sigv4.js';

const creds = generateCredentials();
const region = 'us-east-1';
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

function signer(service: string, secret = creds.secretAccessKey, accessKeyId = creds.accessKeyId) {
  return new SignatureV4({
    service,
    region,
    credentials: { accessKeyId, secretAccessKey: secret },
    sha256: Sha256,
  });
}

function request(body = '{"a":1}', path = '/production/@connections/abc%3D'): HttpRequest {
  return {
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 3001,
    path,
    query: {},
    headers: { host: '127.0.0.1:3001', 'content-type': 'application/json', 'user-agent': 'test' },
    body,
  };
}

function received(signed: HttpRequest, body = signed.body as string): SignedRequest {
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = v;
  return {
    method: signed.method,
    url: query ? `${signed.path}?${query}` : signed.path,
    headers,
    body: Buffer.from(body ?? ''),
  };
}

const verifier = (now = T0) =>
  createSigV4Verifier({ service: 'execute-api', region, credentials: creds, now: () => now });

describe('SigV4 verification (requests signed by @smithy/signature-v4)', () => {
  it('accepts a header signature, and a presigned URL until it expires', async () => {
    const signed = await signer('execute-api').sign(request(), { signingDate: new Date(T0) });
    expect(await verifier().verify(received(signed))).toEqual({
      ok: true,
      accessKeyId: creds.accessKeyId,
      presigned: false,
    });
    const get = { ...request(''), method: 'GET', body: undefined };
    const presigned = await signer('execute-api').presign(get, { signingDate: new Date(T0), expiresIn: 60 });
    expect(await verifier(T0 + 59_000).verify(received(presigned, ''))).toMatchObject({
      ok: true,
      presigned: true,
    });
    expect(await verifier(T0 + 61_000).verify(received(presigned, ''))).toMatchObject({
      ok: false,
      code: 'InvalidSignatureException',
      message: expect.stringMatching(/^Signature expired: /),
    });
  });

  it('refuses no signature, a wrong secret, an unknown key, a tampered body, path or signed header', async () => {
    const v = verifier();
    expect(await v.verify(received(request()))).toMatchObject({
      code: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
    const wrong = await signer('execute-api', 'not-the-secret').sign(request(), {
      signingDate: new Date(T0),
    });
    expect(await v.verify(received(wrong))).toMatchObject({
      code: 'InvalidSignatureException',
      canonicalRequest: expect.stringContaining('/production/%40connections/abc%253D'),
    });
    const stranger = await signer('execute-api', creds.secretAccessKey, 'AKIAUNKNOWN').sign(request(), {
      signingDate: new Date(T0),
    });
    expect(await v.verify(received(stranger))).toMatchObject({ code: 'UnrecognizedClientException' });
    const good = await signer('execute-api').sign(request(), { signingDate: new Date(T0) });
    expect(await v.verify(received(good, '{"a":2}'))).toMatchObject({ code: 'InvalidSignatureException' });
    expect(await v.verify({ ...received(good), url: '/production/@connections/other%3D' })).toMatchObject({
      code: 'InvalidSignatureException',
    });
    const forged = received(good);
    forged.headers['content-type'] = 'text/plain';
    expect(await v.verify(forged)).toMatchObject({ code: 'InvalidSignatureException' });
    // The body hash header is not trusted: a body swapped together with its hash still fails.
    const withHash = await signer('execute-api').sign(
      { ...request(), headers: { ...request().headers, 'x-amz-content-sha256': sha('{"a":1}') } },
      { signingDate: new Date(T0) },
    );
    const swapped = received(withHash, '{"a":9}');
    swapped.headers['x-amz-content-sha256'] = sha('{"a":9}');
    expect(await v.verify(swapped)).toMatchObject({ code: 'InvalidSignatureException' });
  });

  it('applies the 15-minute clock rule both ways', async () => {
    const signed = await signer('execute-api').sign(request(), { signingDate: new Date(T0) });
    expect(await verifier(T0 + 14 * 60_000).verify(received(signed))).toMatchObject({ ok: true });
    expect(await verifier(T0 + 16 * 60_000).verify(received(signed))).toMatchObject({
      code: 'InvalidSignatureException',
      message: `Signature expired: ${amzDate(T0)} is now earlier than ${amzDate(T0 + 60_000)} (${amzDate(T0 + 16 * 60_000)} - 15 min.)`,
    });
    expect(await verifier(T0 - 16 * 60_000).verify(received(signed))).toMatchObject({
      code: 'InvalidSignatureException',
      message: expect.stringMatching(/^Signature not yet current: /),
    });
  });

  it('refuses a scope for another service or region, and a malformed header', async () => {
    const lambda = await signer('lambda').sign(request(), { signingDate: new Date(T0) });
    expect(await verifier().verify(received(lambda))).toMatchObject({
      code: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'execute-api'. ",
    });
    const elsewhere = await signer('execute-api').sign(request(), {
      signingDate: new Date(T0),
      signingRegion: 'eu-west-1',
    });
    expect(await verifier().verify(received(elsewhere))).toMatchObject({
      code: 'InvalidSignatureException',
      message: expect.stringContaining("not 'eu-west-1'"),
    });
    const partial = received(lambda);
    partial.headers.authorization = 'AWS4-HMAC-SHA256 Credential=x';
    expect(await verifier().verify(partial)).toMatchObject({ code: 'IncompleteSignatureException' });
    partial.headers.authorization = 'Allow';
    expect(await verifier().verify(partial)).toMatchObject({ code: 'IncompleteSignatureException' });
  });

  it('answers in each service’s error shape', () => {
    const failure = { ok: false as const, code: 'UnrecognizedClientException' as const, message: 'm' };
    const rest = authErrorResponse('lambda', failure, 'r1');
    expect(rest.status).toBe(403);
    expect(rest.headers['x-amzn-ErrorType']).toBe('UnrecognizedClientException');
    expect(JSON.parse(rest.body)).toEqual({ message: 'm' });
    const missing = {
      ok: false as const,
      code: 'MissingAuthenticationTokenException' as const,
      message: 'x',
    };
    const dynamo = authErrorResponse('dynamodb', missing, 'r2');
    expect(dynamo.status).toBe(400);
    expect(JSON.parse(dynamo.body)).toEqual({
      __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
      message: 'Request is missing Authentication Token',
    });
  });
});

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
