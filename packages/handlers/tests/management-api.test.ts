import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { posterFor } from '../src/poster.js';

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Answer = {
  status: number;
  errorType?: string;
  message?: string | null;
  headers?: Record<string, string>;
};

/**
 * The management API's wire behaviour, scripted per request: each request takes the next answer
 * (200 once the script is used up), so the number of requests shows what was retried.
 */
let server: Server;
let endpoint: string;
let received: Received[] = [];
let script: Answer[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      const answer = script.shift() ?? { status: request.method === 'DELETE' ? 204 : 200 };
      if (answer.status < 300) {
        response.writeHead(answer.status, answer.headers).end();
        return;
      }
      const body = JSON.stringify({ message: answer.message ?? null });
      response.writeHead(answer.status, {
        'content-type': 'application/json',
        ...(answer.errorType ? { 'x-amzn-ErrorType': answer.errorType } : {}),
        'x-amzn-RequestId': `req-${received.length}`,
        ...answer.headers,
      });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/production`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received = [];
  script = [];
});

/** Signs the request again from what arrived (the headers it names as signed) and compares. */
async function signatureMatches(request: Received): Promise<boolean> {
  const authorization = String(request.headers.authorization ?? '');
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = String(request.headers[name] ?? '');
  const again = await new SignatureV4({
    service: 'execute-api',
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    sha256: Sha256,
  }).sign(
    new HttpRequest({
      method: request.method,
      hostname: '127.0.0.1',
      path: request.path,
      headers,
      body: request.body,
    }),
    { signingDate },
  );
  return signedHeaders.includes('host') && again.headers.authorization === authorization;
}

describe('the management API calls (SDK signer, retry strategy and HTTP handler, no generated client)', () => {
  it('PostToConnection: POST {stage}/@connections/{id} with the frame, SigV4-signed for execute-api', async () => {
    const outcome = await posterFor(endpoint).post('Ab1=/x', '{"message":"hello"}');
    expect(outcome).toEqual({ status: 'ok' });
    expect(received).toHaveLength(1);
    const [post] = received;
    expect(post?.method).toBe('POST');
    expect(post?.path).toBe('/production/@connections/Ab1%3D%2Fx');
    expect(post?.body.toString('utf8')).toBe('{"message":"hello"}');
    expect(post?.headers['content-type']).toBe('application/octet-stream');
    expect(String(post?.headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=/,
    );
    expect(await signatureMatches(post as Received)).toBe(true);
  });

  it('DeleteConnection: DELETE {stage}/@connections/{id}, signed', async () => {
    expect(await posterFor(endpoint).close('Zz9=')).toEqual({ status: 'ok' });
    expect(received.map((r) => `${r.method} ${r.path}`)).toEqual(['DELETE /production/@connections/Zz9%3D']);
    expect(await signatureMatches(received[0] as Received)).toBe(true);
  });

  it('a 410 GoneException is "gone", asked once (not retried)', async () => {
    script = [{ status: 410, errorType: 'GoneException' }];
    expect(await posterFor(endpoint).post('gone1', 'x')).toEqual({ status: 'gone' });
    script = [{ status: 410, errorType: 'GoneException' }];
    expect(await posterFor(endpoint).close('gone1')).toEqual({ status: 'gone' });
    expect(received).toHaveLength(2);
  });

  it('throttling (429 LimitExceededException) is retried with backoff; the retry that succeeds delivers', async () => {
    script = [{ status: 429, errorType: 'LimitExceededException', message: 'Rate exceeded' }];
    expect(await posterFor(endpoint).post('busy1', 'again')).toEqual({ status: 'ok' });
    expect(received.map((r) => r.body.toString('utf8'))).toEqual(['again', 'again']);
    // Each attempt is signed anew.
    expect(await signatureMatches(received[1] as Received)).toBe(true);
  });

  it('a 5xx is retried up to the SDK default of 3 attempts, then fails with the name and status', async () => {
    script = [
      { status: 503, errorType: 'ServiceUnavailableException', message: 'unavailable' },
      { status: 503, errorType: 'ServiceUnavailableException', message: 'unavailable' },
      { status: 503, errorType: 'ServiceUnavailableException', message: 'unavailable' },
    ];
    expect(await posterFor(endpoint).post('down1', 'x')).toEqual({
      status: 'failed',
      errorName: 'ServiceUnavailableException',
      httpStatus: 503,
      errorMessage: 'unavailable',
    });
    expect(received).toHaveLength(3);
  });

  it('a client error (403 ForbiddenException, 413) fails at once with the error type of the header', async () => {
    script = [
      {
        status: 403,
        errorType: 'ForbiddenException:http://internal.amazon.com/coral/',
        message: 'Forbidden',
      },
    ];
    expect(await posterFor(endpoint).post('forbidden1', 'x')).toEqual({
      status: 'failed',
      errorName: 'ForbiddenException',
      httpStatus: 403,
      errorMessage: 'Forbidden',
    });
    script = [{ status: 413, errorType: 'PayloadTooLargeException', message: 'Request Entity Too Large' }];
    expect(await posterFor(endpoint).post('large1', 'x')).toMatchObject({
      status: 'failed',
      errorName: 'PayloadTooLargeException',
      httpStatus: 413,
    });
    expect(received).toHaveLength(2);
  });

  it('an unreachable endpoint fails (network errors are retried as transient) without throwing', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const outcome = await posterFor(`http://127.0.0.1:${port}/production`).post('nobody', 'x');
    expect(outcome).toMatchObject({ status: 'failed' });
    expect(outcome.status === 'failed' && outcome.errorMessage).toMatch(/ECONNREFUSED/);
  });

  it('missing credentials fail the call (environment credentials only), nothing is sent', async () => {
    const saved = process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_ACCESS_KEY_ID;
    try {
      const outcome = await posterFor(`${endpoint}/`).post('nocreds', 'x');
      expect(outcome).toMatchObject({ status: 'failed', errorName: 'CredentialsProviderError' });
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved;
    }
    expect(received).toEqual([]);
  });
});
