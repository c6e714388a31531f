import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PeerIdentity } from '@mpc-relay/protocol';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll } from 'vitest';
import { resetJwtCaches } from '../../src/auth/jwt.js';
import { useHarness } from './harness.js';

/** A 43-character secret (32 random bytes, base64url), like the local relay's data-folder secret. */
export const TEST_SECRET = 'q3Jc0q8lq7mKf1w2VbYy6sY2cX1u9m0nA4b5C6d7E8f';

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** An HS256 token (the local relay's kind). */
export async function hsToken(
  claims: JWTPayload,
  options: { secret?: string | Uint8Array; alg?: string; exp?: number | null; kid?: string } = {},
): Promise<string> {
  const secret = options.secret ?? TEST_SECRET;
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', ...(options.kid ? { kid: options.kid } : {}) })
    .setIssuedAt();
  if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? nowSeconds() + 3600);
  return jwt.sign(key);
}

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  publicJwk: JWK;
}

export async function newKey(alg: 'RS256' | 'ES256' | 'EdDSA', kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export async function signWith(key: TestKey, claims: JWTPayload, exp?: number): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuedAt()
    .setExpirationTime(exp ?? nowSeconds() + 3600)
    .sign(key.privateKey);
}

/** A JWKS endpoint on a random port; `keys` may be replaced (rotation). Counts fetches. */
export interface JwksServer {
  url: string;
  keys: JWK[];
  fetches: number;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state = { keys, fetches: 0 };
  const server: Server = createServer((_request, response) => {
    state.fetches += 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get keys() {
      return state.keys;
    },
    set keys(value) {
      state.keys = value;
    },
    get fetches() {
      return state.fetches;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A stand-in for SSM's JSON API (`X-Amz-Target: AmazonSSM.GetParameter`), enough for the real
 * SSMClient: answers the SecureString's value when asked WithDecryption, `ParameterNotFound`
 * otherwise. Records every request (target and body).
 */
export interface SsmStandIn {
  endpoint: string;
  parameters: Map<string, string>;
  requests: { target: string; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

export async function startSsmStandIn(parameters: Record<string, string>): Promise<SsmStandIn> {
  const map = new Map(Object.entries(parameters));
  const requests: SsmStandIn['requests'] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      requests.push({ target, body });
      const name = String(body.Name ?? '');
      const value = map.get(name);
      if (target !== 'AmazonSSM.GetParameter' || value === undefined) {
        response.writeHead(400, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-ErrorType': 'ParameterNotFound',
        });
        response.end(JSON.stringify({ __type: 'ParameterNotFound', message: `${name} not found` }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({
          Parameter: {
            Name: name,
            Type: 'SecureString',
            // Without WithDecryption SSM returns the ciphertext: never usable as the key.
            Value: body.WithDecryption === true ? value : 'AQICAHh-ciphertext-not-the-secret',
            Version: 1,
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    parameters: map,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A harness in jwt mode for one describe block (useHarness with `env`): the authorizer's caches
 * reset before and after, the environment put back to static mode afterwards. `connect` opens a
 * peer with an HS256 token for it carrying `claims`.
 */
export function useJwtHarness(env: Record<string, string>) {
  beforeAll(() => resetJwtCaches());
  // Registered before useHarness's hooks: after-hooks run in reverse, so this runs after close.
  afterAll(() => {
    for (const key of Object.keys(env)) delete process.env[key];
    process.env.AUTH_MODE = 'static';
    resetJwtCaches();
  });
  const harness = useHarness('src', env);
  async function connect(peer: PeerIdentity, claims: JWTPayload = {}) {
    const token = await hsToken({ sub: `${peer.type}:${peer.id}`, ...claims });
    return harness.relay.connect(peer, { headers: { Authorization: `Bearer ${token}` } });
  }
  return { harness, connect };
}
