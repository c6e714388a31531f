import { createHmac } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import { JWT_SECRET_ENV, loadOrCreateJwtSecret, parseTtl, signToken } from '../src/jwt-secret.js';
import { DEFAULTS } from '../src/relay.js';
import { TOKEN_DEFAULT_DATA_DIR } from '../src/token-command.js';
import { tempDir, tokenCommand } from './helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir('mpc-relay-token-');
  dirs.push(d);
  return d;
}

function decode(token: string) {
  const [header, payload, signature] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()),
    signature,
    input: `${header}.${payload}`,
  };
}

describe('the shared jwt secret', () => {
  it('is created on first use in <data-dir>/jwt-secret (32 random bytes, mode 0600) and reused', () => {
    const d = join(dir(), 'nested', 'data');
    const first = loadOrCreateJwtSecret(d, {});
    expect(first).toMatchObject({ source: join(d, 'jwt-secret'), created: true });
    expect(Buffer.from(first.secret, 'base64url')).toHaveLength(32);
    expect(statSync(join(d, 'jwt-secret')).mode & 0o777).toBe(0o600);
    const second = loadOrCreateJwtSecret(d, {});
    expect(second).toEqual({ secret: first.secret, source: first.source, created: false });
  });

  it('MPC_RELAY_JWT_SECRET wins over the file; a short secret is refused with a user error', () => {
    const d = dir();
    const secret = 'x'.repeat(40);
    expect(loadOrCreateJwtSecret(d, { [JWT_SECRET_ENV]: secret })).toEqual({
      secret,
      source: JWT_SECRET_ENV,
      created: false,
    });
    expect(() => loadOrCreateJwtSecret(d, { [JWT_SECRET_ENV]: 'short' })).toThrow(UserError);
    writeFileSync(join(d, 'jwt-secret'), 'too-short\n', { mode: 0o600 });
    expect(() => loadOrCreateJwtSecret(d, {})).toThrow(/shorter than 32 bytes/);
  });

  it('signs HS256 tokens: sub TYPE:ID, iat, exp, jti, teams/aud/iss when given', () => {
    const secret = 's'.repeat(43);
    const token = signToken(secret, {
      type: 'cli',
      id: 'cli123',
      ttlSeconds: 3600,
      teams: ['a', 'b'],
      audience: 'mpc-relay',
      issuer: 'local',
      now: 1_000,
    });
    const { header, payload, signature, input } = decode(token);
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({
      sub: 'cli:cli123',
      iat: 1_000,
      exp: 4_600,
      teams: ['a', 'b'],
      aud: 'mpc-relay',
      iss: 'local',
    });
    expect(typeof payload.jti).toBe('string');
    expect(signature).toBe(createHmac('sha256', secret).update(input).digest('base64url'));
    expect(() => signToken(secret, { type: 'cli', id: 'a:b', ttlSeconds: 1 })).toThrow(UserError);
    expect(() => signToken(secret, { type: 'cli', id: 'ok', ttlSeconds: 1, teams: ['a,b'] })).toThrow(
      UserError,
    );
  });

  it('parses durations', () => {
    expect([parseTtl('90'), parseTtl('90s'), parseTtl('15m'), parseTtl('1h'), parseTtl('7d')]).toEqual([
      90, 90, 900, 3600, 604_800,
    ]);
    for (const bad of ['', '0', '-1h', '1w', '1.5h', '400d'])
      expect(() => parseTtl(bad), bad).toThrow(UserError);
  });

  it("defaults to the relay's data folder", () => {
    expect(TOKEN_DEFAULT_DATA_DIR).toBe(DEFAULTS.dataDir);
  });
});

describe('the token command (node dist/token.js, what `pnpm run token` runs)', () => {
  it('prints the token alone on the last line of stdout, signed with the data folder secret', () => {
    const d = dir();
    const result = tokenCommand([
      '--',
      '--type',
      'mpc',
      '--id',
      'IgniterC56D',
      '--ttl',
      '15m',
      '--data-dir',
      d,
      '--teams',
      't1,t2',
    ]);
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const token = lines.at(-1) ?? '';
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(result.stderr).toMatch(
      /token for mpc:IgniterC56D \(teams t1,t2\), expires .*HS256 with a new secret/,
    );
    const { payload, signature, input } = decode(token);
    expect(payload).toMatchObject({ sub: 'mpc:IgniterC56D', teams: ['t1', 't2'] });
    expect(payload.exp - payload.iat).toBe(900);
    const secret = readFileSync(join(d, 'jwt-secret'), 'utf8').trim();
    expect(signature).toBe(createHmac('sha256', secret).update(input).digest('base64url'));
    expect(result.stderr).not.toContain(token);
  });

  it('uses MPC_RELAY_JWT_SECRET when set (and creates no file)', () => {
    const d = dir();
    const secret = 'e'.repeat(48);
    const result = tokenCommand(['--type', 'cli', '--id', 'cli123', '--data-dir', d], {
      [JWT_SECRET_ENV]: secret,
    });
    expect(result.status).toBe(0);
    const { signature, input } = decode(result.stdout.trim());
    expect(signature).toBe(createHmac('sha256', secret).update(input).digest('base64url'));
    expect(() => statSync(join(d, 'jwt-secret'))).toThrow();
  });

  it('bad input: one line on stderr, exit 1, nothing on stdout', () => {
    for (const args of [
      ['--type', 'robot', '--id', 'x'],
      ['--type', 'cli'],
      ['--type', 'cli', '--id', 'bad id'],
      ['--type', 'cli', '--id', 'x', '--ttl', 'forever'],
    ]) {
      const result = tokenCommand([...args, '--data-dir', dir()]);
      expect(result.status, args.join(' ')).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
