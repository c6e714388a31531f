import { join } from 'node:path';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { authorizerEvent } from './helpers/events.js';
import {
  hsToken,
  type JwksServer,
  newKey,
  type SsmStandIn,
  signWith,
  startJwksServer,
  startSsmStandIn,
  TEST_SECRET,
  type TestKey,
} from './helpers/jwt.js';

const dist = join(import.meta.dirname, '..', 'dist');
const NAME = '/mpc-relay/prod/jwt-secret';
const ENV_KEYS = ['AUTH_MODE', 'JWT_SECRET_PARAMETER', 'SSM_ENDPOINT', 'JWT_JWKS_URL', 'JWT_ALGORITHMS'];

// The built authorizer bundle (what Lambda runs) in jwt mode: the SSM client and jose are bundled,
// the secret is read during module init (cold start), and JWKS keys are fetched.
describe('built authorizer bundle, jwt mode', () => {
  let ssm: SsmStandIn;
  let jwks: JwksServer;
  let rsa: TestKey;
  let handler: (event: unknown) => Promise<APIGatewayAuthorizerResult>;
  beforeAll(async () => {
    ssm = await startSsmStandIn({ [NAME]: TEST_SECRET });
    rsa = await newKey('RS256', 'k1');
    jwks = await startJwksServer([rsa.publicJwk]);
    Object.assign(process.env, {
      AUTH_MODE: 'jwt',
      JWT_SECRET_PARAMETER: NAME,
      SSM_ENDPOINT: ssm.endpoint,
      JWT_JWKS_URL: jwks.url,
      JWT_ALGORITHMS: 'HS256,RS256',
    });
    ({ handler } = await import(/* @vite-ignore */ join(dist, 'authorizer', 'index.mjs')));
  });
  afterAll(async () => {
    for (const key of ENV_KEYS) delete process.env[key];
    process.env.AUTH_MODE = 'static';
    await ssm?.close();
    await jwks?.close();
  });

  it('reads the SSM SecureString at module load (cold start), before any handshake', async () => {
    await vi.waitFor(() => expect(ssm.requests).toHaveLength(1), { timeout: 5000 });
    expect(ssm.requests[0]).toEqual({
      target: 'AmazonSSM.GetParameter',
      body: { Name: NAME, WithDecryption: true },
    });
  });

  it('allows an HS256 token (secret from SSM) and an RS256 token (JWKS), binds the identity', async () => {
    const query = { type: 'cli', cliId: 'cli123' };
    for (const token of [
      await hsToken({ sub: 'cli:cli123', teams: ['t'] }),
      await signWith(rsa, { sub: 'cli:cli123' }),
    ]) {
      const result = await handler(authorizerEvent({ query, headers: { Authorization: `Bearer ${token}` } }));
      expect(result.policyDocument.Statement[0]?.Effect).toBe('Allow');
      expect(result.context).toMatchObject({ peerType: 'cli', peerId: 'cli123' });
      const other = await handler(
        authorizerEvent({
          query: { type: 'cli', cliId: 'cli999' },
          headers: { Authorization: `Bearer ${token}` },
        }),
      );
      expect(other.policyDocument.Statement[0]?.Effect).toBe('Deny');
    }
    await expect(handler(authorizerEvent({ query }))).rejects.toThrow(/^Unauthorized$/);
    expect(ssm.requests).toHaveLength(1);
  });
});
