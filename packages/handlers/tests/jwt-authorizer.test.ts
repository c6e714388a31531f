import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { prefetchJwtKeys, resetJwtCaches } from '../src/auth/jwt.js';
import { handler as authorizer } from '../src/handlers/authorizer.js';
import { authorizerEvent } from './helpers/events.js';
import {
  hsToken,
  type JwksServer,
  newKey,
  nowSeconds,
  type SsmStandIn,
  signWith,
  startJwksServer,
  startSsmStandIn,
  TEST_SECRET,
  type TestKey,
} from './helpers/jwt.js';
import { useLogCapture } from './helpers/logs.js';

// The jwt authorizer against real jose-signed tokens, a real JWKS server and the real SSM client.

const JWT_ENV = [
  'AUTH_MODE',
  'JWT_SECRET',
  'JWT_SECRET_PARAMETER',
  'JWT_JWKS_URL',
  'JWT_AUDIENCE',
  'JWT_ISSUER',
  'JWT_ALGORITHMS',
  'JWT_CLOCK_SKEW_SECONDS',
  'JWT_JWKS_COOLDOWN_SECONDS',
  'JWT_SECRET_MAX_AGE_SECONDS',
  'SSM_ENDPOINT',
];

function setEnv(vars: Record<string, string>) {
  for (const key of JWT_ENV) delete process.env[key];
  Object.assign(process.env, { AUTH_MODE: 'jwt', ...vars });
  resetJwtCaches();
}

afterAll(() => {
  for (const key of JWT_ENV) delete process.env[key];
  process.env.AUTH_MODE = 'static';
  resetJwtCaches();
});

const cliQuery = { type: 'cli', cliId: 'cli123' };
const mpcQuery = { type: 'mpc', mpcId: 'IgniterC56D' };

async function decide(options: { query?: Record<string, string>; headers?: Record<string, string> }) {
  try {
    const result = await authorizer(
      authorizerEvent({ query: options.query ?? cliQuery, headers: options.headers }),
    );
    return {
      effect: result.policyDocument.Statement[0]?.Effect,
      context: result.context,
      principalId: result.principalId,
    };
  } catch (error) {
    return { effect: 'Unauthorized' as const, error };
  }
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('jwt mode, HS256 with JWT_SECRET', () => {
  beforeEach(() => setEnv({ JWT_SECRET: TEST_SECRET }));

  it('valid token in the Authorization header: Allow, context = the token subject and its exp (numbers)', async () => {
    const exp = nowSeconds() + 600;
    const token = await hsToken({ sub: 'cli:cli123' }, { exp });
    const result = await decide({ headers: bearer(token) });
    expect(result).toMatchObject({
      effect: 'Allow',
      principalId: 'cli:cli123',
      context: { peerType: 'cli', peerId: 'cli123', exp, expSkew: 30 },
    });
    expect(result.context).not.toHaveProperty('teams');
  });

  it('teams claim: a comma string in the context', async () => {
    const token = await hsToken({ sub: 'mpc:IgniterC56D', teams: ['team-a', 'team-b'] });
    const result = await decide({ query: mpcQuery, headers: bearer(token) });
    expect(result.context).toEqual({
      peerType: 'mpc',
      peerId: 'IgniterC56D',
      protocol: 'v1',
      teams: 'team-a,team-b',
      exp: expect.any(Number),
      expSkew: 30,
    });
  });

  it('peers claim: a comma string in the context (an empty list too); a malformed one is denied', async () => {
    const token = await hsToken({ sub: 'cli:cli123', peers: ['mpcA', 'mpcB', 'mpcA'] });
    expect((await decide({ headers: bearer(token) })).context).toMatchObject({ peers: 'mpcA,mpcB' });
    const none = await hsToken({ sub: 'cli:cli123', peers: [] });
    expect((await decide({ headers: bearer(none) })).context).toMatchObject({ peers: '' });
    const without = await hsToken({ sub: 'cli:cli123' });
    expect((await decide({ headers: bearer(without) })).context).not.toHaveProperty('peers');
    for (const peers of ['mpcA', ['a,b'], [7], Array.from({ length: 51 }, (_, i) => `m${i}`)]) {
      const bad = await hsToken({ sub: 'cli:cli123', peers });
      expect((await decide({ headers: bearer(bad) })).effect).toBe('Deny');
    }
  });

  it('the protocol the handshake negotiates is in the context', async () => {
    const token = await hsToken({ sub: 'cli:cli123' });
    const offered = { ...bearer(token), 'Sec-WebSocket-Protocol': 'mpc-relay.v2' };
    expect((await decide({ headers: offered })).context).toMatchObject({ protocol: 'mpc-relay.v2' });
  });

  it('the bare token as the header value (what the signer sends) and lower-case "bearer"', async () => {
    const token = await hsToken({ sub: 'cli:cli123' });
    expect((await decide({ headers: { Authorization: token } })).effect).toBe('Allow');
    expect((await decide({ headers: { authorization: `bearer ${token}` } })).effect).toBe('Allow');
  });

  it('token in the query string (?token=): Allow', async () => {
    const token = await hsToken({ sub: 'cli:cli123' });
    const result = await decide({ query: { ...cliQuery, token } });
    expect(result).toMatchObject({ effect: 'Allow', context: { peerType: 'cli', peerId: 'cli123' } });
  });

  it('the same token in header and query is fine; two different tokens are denied', async () => {
    const token = await hsToken({ sub: 'cli:cli123' });
    const other = await hsToken({ sub: 'cli:cli123', jti: 'other' });
    expect((await decide({ query: { ...cliQuery, token }, headers: bearer(token) })).effect).toBe('Allow');
    expect((await decide({ query: { ...cliQuery, token: other }, headers: bearer(token) })).effect).toBe(
      'Deny',
    );
  });

  it('missing token: Unauthorized (401); an empty Bearer too', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { Authorization: '' },
      { Authorization: 'Bearer ' },
      { Authorization: '   ' },
    ]) {
      const result = await decide({ headers });
      expect(result.effect).toBe('Unauthorized');
      expect((result as { error: Error }).error.message).toBe('Unauthorized');
    }
    expect((await decide({ query: { ...cliQuery, token: '' } })).effect).toBe('Unauthorized');
  });

  it('malformed tokens: Deny (403)', async () => {
    for (const value of ['Allow', 'abc', 'a.b.c', 'a.b', 'e30.e30.', `${'x'.repeat(9000)}`]) {
      expect((await decide({ headers: bearer(value) })).effect, value.slice(0, 20)).toBe('Deny');
    }
  });

  it('expired: Deny; expired within the clock skew (30 s default): Allow', async () => {
    const expired = await hsToken({ sub: 'cli:cli123' }, { exp: nowSeconds() - 120 });
    expect((await decide({ headers: bearer(expired) })).effect).toBe('Deny');
    const justExpired = await hsToken({ sub: 'cli:cli123' }, { exp: nowSeconds() - 5 });
    expect((await decide({ headers: bearer(justExpired) })).effect).toBe('Allow');
  });

  it('JWT_CLOCK_SKEW_SECONDS=0: a token expired 5 s ago is denied', async () => {
    setEnv({ JWT_SECRET: TEST_SECRET, JWT_CLOCK_SKEW_SECONDS: '0' });
    const justExpired = await hsToken({ sub: 'cli:cli123' }, { exp: nowSeconds() - 5 });
    expect((await decide({ headers: bearer(justExpired) })).effect).toBe('Deny');
  });

  it('not yet valid (nbf in the future beyond the skew): Deny; within the skew: Allow', async () => {
    const future = await hsToken({ sub: 'cli:cli123', nbf: nowSeconds() + 300 });
    expect((await decide({ headers: bearer(future) })).effect).toBe('Deny');
    const soon = await hsToken({ sub: 'cli:cli123', nbf: nowSeconds() + 5 });
    expect((await decide({ headers: bearer(soon) })).effect).toBe('Allow');
  });

  it('required claims: no exp, no sub: Deny', async () => {
    const noExp = await hsToken({ sub: 'cli:cli123' }, { exp: null });
    expect((await decide({ headers: bearer(noExp) })).effect).toBe('Deny');
    const noSub = await hsToken({});
    expect((await decide({ headers: bearer(noSub) })).effect).toBe('Deny');
  });

  it('a subject that names no peer: Deny', async () => {
    for (const sub of ['cli123', 'admin:cli123', 'cli:', 'cli:a b', 'cli:cli123:x']) {
      const token = await hsToken({ sub });
      expect((await decide({ headers: bearer(token) })).effect, sub).toBe('Deny');
    }
  });

  it('wrong signature (another secret, or a tampered payload): Deny', async () => {
    const forged = await hsToken(
      { sub: 'cli:cli123' },
      { secret: 'another-secret-of-at-least-32-bytes-long!!' },
    );
    expect((await decide({ headers: bearer(forged) })).effect).toBe('Deny');
    const genuine = await hsToken({ sub: 'cli:victim' });
    const [h, , s] = genuine.split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'cli:cli123', exp: nowSeconds() + 3600 })).toString(
      'base64url',
    );
    expect((await decide({ headers: bearer(`${h}.${payload}.${s}`) })).effect).toBe('Deny');
  });

  it('the `none` algorithm: Deny (and `none` cannot even be configured)', async () => {
    const unsecured = new UnsecuredJWT({ sub: 'cli:cli123' }).setExpirationTime('1h').encode();
    expect((await decide({ headers: bearer(unsecured) })).effect).toBe('Deny');
    expect((await decide({ query: { ...cliQuery, token: unsecured } })).effect).toBe('Deny');
    setEnv({ JWT_SECRET: TEST_SECRET, JWT_ALGORITHMS: 'HS256,none' });
    const valid = await hsToken({ sub: 'cli:cli123' });
    expect((await decide({ headers: bearer(valid) })).effect).toBe('Deny');
  });

  it('an algorithm that is not pinned (HS384 when only HS256 is): Deny', async () => {
    const hs384 = await hsToken({ sub: 'cli:cli123' }, { alg: 'HS384' });
    expect((await decide({ headers: bearer(hs384) })).effect).toBe('Deny');
    setEnv({ JWT_SECRET: TEST_SECRET, JWT_ALGORITHMS: 'HS256,HS384' });
    expect((await decide({ headers: bearer(hs384) })).effect).toBe('Allow');
  });

  it('identity binding: a cli token connecting as an mpc or as another cli: Deny', async () => {
    const token = await hsToken({ sub: 'cli:cli123' });
    expect((await decide({ query: { type: 'mpc', mpcId: 'cli123' }, headers: bearer(token) })).effect).toBe(
      'Deny',
    );
    expect((await decide({ query: { type: 'cli', cliId: 'cli999' }, headers: bearer(token) })).effect).toBe(
      'Deny',
    );
    expect((await decide({ query: { type: 'cli', cliId: 'CLI123' }, headers: bearer(token) })).effect).toBe(
      'Deny',
    );
    const mpcToken = await hsToken({ sub: 'mpc:IgniterC56D' });
    expect(
      (await decide({ query: { type: 'cli', cliId: 'IgniterC56D' }, headers: bearer(mpcToken) })).effect,
    ).toBe('Deny');
  });

  it('a valid token with a malformed query: Allow without a peer, so that $connect answers 400', async () => {
    const token = await hsToken({ sub: 'cli:cli123' });
    const result = await decide({ query: { type: 'robot' }, headers: bearer(token) });
    expect(result.effect).toBe('Allow');
    expect(result.context).toBeUndefined();
  });

  it('a malformed teams claim: Deny', async () => {
    for (const teams of ['team-a', [1], ['a,b'], [''], Array.from({ length: 51 }, (_, i) => `t${i}`)]) {
      const token = await hsToken({ sub: 'cli:cli123', teams });
      expect((await decide({ headers: bearer(token) })).effect, JSON.stringify(teams).slice(0, 30)).toBe(
        'Deny',
      );
    }
  });

  it('audience and issuer, when configured, are required and must match', async () => {
    setEnv({ JWT_SECRET: TEST_SECRET, JWT_AUDIENCE: 'mpc-relay', JWT_ISSUER: 'https://auth.example.com/' });
    const good = await hsToken({ sub: 'cli:cli123', aud: 'mpc-relay', iss: 'https://auth.example.com/' });
    expect((await decide({ headers: bearer(good) })).effect).toBe('Allow');
    const inList = await hsToken({
      sub: 'cli:cli123',
      aud: ['other', 'mpc-relay'],
      iss: 'https://auth.example.com/',
    });
    expect((await decide({ headers: bearer(inList) })).effect).toBe('Allow');
    for (const claims of [
      { aud: 'other-service', iss: 'https://auth.example.com/' },
      { aud: 'mpc-relay', iss: 'https://evil.example.com/' },
      { iss: 'https://auth.example.com/' },
      { aud: 'mpc-relay' },
    ]) {
      const token = await hsToken({ sub: 'cli:cli123', ...claims });
      expect((await decide({ headers: bearer(token) })).effect, JSON.stringify(claims)).toBe('Deny');
    }
  });

  it('a secret shorter than 32 bytes, or both JWT_SECRET and JWT_SECRET_PARAMETER: Deny (fail closed)', async () => {
    setEnv({ JWT_SECRET: 'short-secret' });
    const token = await hsToken({ sub: 'cli:cli123' }, { secret: 'short-secret' });
    expect((await decide({ headers: bearer(token) })).effect).toBe('Deny');
    setEnv({ JWT_SECRET: TEST_SECRET, JWT_SECRET_PARAMETER: '/mpc-relay/dev/jwt-secret' });
    expect((await decide({ headers: bearer(await hsToken({ sub: 'cli:cli123' })) })).effect).toBe('Deny');
  });
});

describe('jwt mode, asymmetric keys from a JWKS URL', () => {
  let jwks: JwksServer;
  let rsa: TestKey;
  let ec: TestKey;
  let ed: TestKey;
  beforeAll(async () => {
    rsa = await newKey('RS256', 'rsa-1');
    ec = await newKey('ES256', 'ec-1');
    ed = await newKey('EdDSA', 'ed-1');
    jwks = await startJwksServer([rsa.publicJwk, ec.publicJwk, ed.publicJwk]);
  });
  afterAll(async () => {
    await jwks?.close();
  });
  beforeEach(() => {
    jwks.keys = [rsa.publicJwk, ec.publicJwk, ed.publicJwk];
    setEnv({ JWT_JWKS_URL: jwks.url, JWT_ALGORITHMS: 'RS256,ES256,EdDSA' });
  });

  it('RS256, ES256 and EdDSA tokens from the key set: Allow', async () => {
    for (const key of [rsa, ec, ed]) {
      const result = await decide({ headers: bearer(await signWith(key, { sub: 'cli:cli123' })) });
      expect(result.effect, key.alg).toBe('Allow');
    }
  });

  it('the default algorithms with a JWKS URL are RS256, ES256, EdDSA', async () => {
    setEnv({ JWT_JWKS_URL: jwks.url });
    expect((await decide({ headers: bearer(await signWith(ed, { sub: 'cli:cli123' })) })).effect).toBe(
      'Allow',
    );
  });

  it('alg confusion: an HS256 token keyed with the public key is refused (no HS algorithm pinned)', async () => {
    const fetchesBefore = jwks.fetches;
    // The classic attack: the RSA public key (PEM, as servers publish it) used as an HMAC secret.
    const publicPem = createPublicKey({ key: rsa.publicJwk as JsonWebKey, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    for (const secret of [publicPem, JSON.stringify(rsa.publicJwk), rsa.publicJwk.n ?? '']) {
      const token = await hsToken({ sub: 'cli:cli123' }, { secret, kid: rsa.kid });
      expect((await decide({ headers: bearer(token) })).effect).toBe('Deny');
    }
    // Refused on the algorithm alone: the key set is not even consulted.
    expect(jwks.fetches).toBe(fetchesBefore);
  });

  it('alg confusion with HS256 also pinned: the HS key is the secret only, never a JWKS key', async () => {
    setEnv({ JWT_JWKS_URL: jwks.url, JWT_SECRET: TEST_SECRET, JWT_ALGORITHMS: 'HS256,RS256' });
    const token = await hsToken(
      { sub: 'cli:cli123' },
      { secret: JSON.stringify(rsa.publicJwk), kid: rsa.kid },
    );
    expect((await decide({ headers: bearer(token) })).effect).toBe('Deny');
    expect((await decide({ headers: bearer(await hsToken({ sub: 'cli:cli123' })) })).effect).toBe('Allow');
    expect((await decide({ headers: bearer(await signWith(rsa, { sub: 'cli:cli123' })) })).effect).toBe(
      'Allow',
    );
  });

  it('an RS256 token on a stack that pins HS256 only: Deny', async () => {
    setEnv({ JWT_SECRET: TEST_SECRET });
    expect((await decide({ headers: bearer(await signWith(rsa, { sub: 'cli:cli123' })) })).effect).toBe(
      'Deny',
    );
  });

  it('a key that is not in the set (unknown kid, or a known kid with another key): Deny', async () => {
    const stranger = await newKey('RS256', 'stranger');
    expect((await decide({ headers: bearer(await signWith(stranger, { sub: 'cli:cli123' })) })).effect).toBe(
      'Deny',
    );
    const impostor = { ...stranger, kid: rsa.kid };
    expect((await decide({ headers: bearer(await signWith(impostor, { sub: 'cli:cli123' })) })).effect).toBe(
      'Deny',
    );
  });

  it('key rotation: a new kid is fetched and accepted, the removed kid is refused', async () => {
    setEnv({ JWT_JWKS_URL: jwks.url, JWT_ALGORITHMS: 'RS256', JWT_JWKS_COOLDOWN_SECONDS: '0' });
    const oldToken = await signWith(rsa, { sub: 'cli:cli123' });
    expect((await decide({ headers: bearer(oldToken) })).effect).toBe('Allow');
    const rotated = await newKey('RS256', 'rsa-2');
    jwks.keys = [rotated.publicJwk];
    const fetches = jwks.fetches;
    const newToken = await signWith(rotated, { sub: 'cli:cli123' });
    expect((await decide({ headers: bearer(newToken) })).effect).toBe('Allow');
    expect(jwks.fetches).toBeGreaterThan(fetches);
    expect((await decide({ headers: bearer(oldToken) })).effect).toBe('Deny');
  });

  it('JWKS unreachable: Deny (fail closed)', async () => {
    setEnv({ JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json', JWT_ALGORITHMS: 'RS256' });
    expect((await decide({ headers: bearer(await signWith(rsa, { sub: 'cli:cli123' })) })).effect).toBe(
      'Deny',
    );
  });
});

describe('jwt mode, HS256 secret read from SSM (JWT_SECRET_PARAMETER)', () => {
  const NAME = '/mpc-relay/test/jwt-secret';
  let ssm: SsmStandIn;
  beforeAll(async () => {
    ssm = await startSsmStandIn({ [NAME]: TEST_SECRET });
  });
  afterAll(async () => {
    await ssm?.close();
  });
  beforeEach(() => {
    ssm.requests.length = 0;
    ssm.parameters.set(NAME, TEST_SECRET);
    setEnv({ JWT_SECRET_PARAMETER: NAME, SSM_ENDPOINT: ssm.endpoint });
  });

  it('reads the SecureString once per container (WithDecryption) and accepts tokens signed with it', async () => {
    for (const id of ['a1', 'a2', 'a3']) {
      const token = await hsToken({ sub: `cli:${id}` });
      expect((await decide({ query: { type: 'cli', cliId: id }, headers: bearer(token) })).effect).toBe(
        'Allow',
      );
    }
    expect(ssm.requests).toEqual([
      { target: 'AmazonSSM.GetParameter', body: { Name: NAME, WithDecryption: true } },
    ]);
  });

  it('prefetch at cold start: the read starts before the first handshake', async () => {
    prefetchJwtKeys(process.env);
    await vi.waitFor(() => expect(ssm.requests).toHaveLength(1), { timeout: 5000 });
    expect((await decide({ headers: bearer(await hsToken({ sub: 'cli:cli123' })) })).effect).toBe('Allow');
    expect(ssm.requests).toHaveLength(1);
  });

  it('a missing parameter denies, and the failure is not cached', async () => {
    ssm.parameters.delete(NAME);
    const token = await hsToken({ sub: 'cli:cli123' });
    expect((await decide({ headers: bearer(token) })).effect).toBe('Deny');
    ssm.parameters.set(NAME, TEST_SECRET);
    expect((await decide({ headers: bearer(token) })).effect).toBe('Allow');
    expect(ssm.requests).toHaveLength(2);
  });

  it('a rotated secret takes effect once the cached one is older than JWT_SECRET_MAX_AGE_SECONDS, no cold start', async () => {
    const ROTATED = 'r0t4t3d-s3cr3t-0f-at-l3ast-32-bytes-l0ng!!';
    setEnv({ JWT_SECRET_PARAMETER: NAME, SSM_ENDPOINT: ssm.endpoint, JWT_SECRET_MAX_AGE_SECONDS: '60' });
    // Only the clock is fake: the SDK's sockets and timers stay real.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const old = await hsToken({ sub: 'cli:cli123' });
      expect((await decide({ headers: bearer(old) })).effect).toBe('Allow');
      ssm.parameters.set(NAME, ROTATED);
      const rotated = await hsToken({ sub: 'cli:cli123' }, { secret: ROTATED });
      // Within the max age the cached secret still decides.
      vi.setSystemTime(Date.now() + 59_000);
      expect((await decide({ headers: bearer(rotated) })).effect).toBe('Deny');
      expect(ssm.requests).toHaveLength(1);
      // Past it, the same container reads the parameter again: the new secret signs, the old one no longer.
      vi.setSystemTime(Date.now() + 2_000);
      expect(
        (await decide({ headers: bearer(await hsToken({ sub: 'cli:cli123' }, { secret: ROTATED })) })).effect,
      ).toBe('Allow');
      expect((await decide({ headers: bearer(await hsToken({ sub: 'cli:cli123' })) })).effect).toBe('Deny');
      expect(ssm.requests).toEqual([
        { target: 'AmazonSSM.GetParameter', body: { Name: NAME, WithDecryption: true } },
        { target: 'AmazonSSM.GetParameter', body: { Name: NAME, WithDecryption: true } },
      ]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('tokens never reach the logs', () => {
  const { lines, capture } = useLogCapture();
  beforeEach(() => setEnv({ JWT_SECRET: TEST_SECRET }));

  it('valid, invalid, mismatched, query-string tokens: reasons logged, token strings absent', async () => {
    const valid = await hsToken({ sub: 'cli:cli123', teams: ['t1'] });
    const expired = await hsToken({ sub: 'cli:cli123' }, { exp: nowSeconds() - 3600 });
    const forged = await hsToken(
      { sub: 'cli:cli123' },
      { secret: 'another-secret-of-at-least-32-bytes-long!!' },
    );
    const other = await hsToken({ sub: 'cli:someone-else' });
    const garbage = 'not-a-jwt-but-secret-looking-value-123456';
    capture();
    await decide({ headers: bearer(valid) });
    await decide({ query: { ...cliQuery, token: valid } });
    await decide({ headers: bearer(expired) });
    await decide({ headers: bearer(forged) });
    await decide({ headers: bearer(other) });
    await decide({ query: { ...cliQuery, token: garbage } });
    vi.restoreAllMocks();
    const text = lines.join('');
    for (const token of [valid, expired, forged, other, garbage]) {
      expect(text).not.toContain(token);
      // not even the signature part
      expect(text).not.toContain(token.split('.').at(-1));
    }
    const entries = lines.flatMap((line) => line.split('\n').filter(Boolean)).map((line) => JSON.parse(line));
    expect(entries.filter((e) => e.outcome === 'allow')).toHaveLength(2);
    expect(entries.find((e) => e.reason === 'token expired')).toMatchObject({
      outcome: 'deny',
      authMode: 'jwt',
    });
    expect(entries.find((e) => e.reason === 'signature verification failed')).toBeDefined();
    expect(entries.find((e) => /identity mismatch/.test(e.reason))).toMatchObject({
      tokenSubject: 'cli:someone-else',
      queryPeer: 'cli:cli123',
    });
    expect(entries.find((e) => e.reason === 'malformed token')).toMatchObject({ tokenSource: 'query' });
  });
});
