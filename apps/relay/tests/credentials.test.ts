import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCli } from '../src/cli.js';
import {
  ACCESS_KEY_ENV,
  loadOrCreateCredentials,
  parseSharedCredentials,
  SECRET_KEY_ENV,
} from '../src/credentials.js';
import { isLoopback, startRelay, UserError } from '../src/index.js';
import { loadOrCreateJwtSecret } from '../src/jwt-secret.js';
import { tempDir } from './helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir('relay-creds-');
  dirs.push(d);
  return d;
}

describe('the credentials file', () => {
  it('is created once (0600, profile mpc-relay-local, AKIA key) and read back unchanged', () => {
    const d = dir();
    const first = loadOrCreateCredentials(d, {});
    expect(first.created).toBe(true);
    expect(first.credentials.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(first.credentials.secretAccessKey).toHaveLength(40);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    const profile = parseSharedCredentials(readFileSync(first.file, 'utf8')).get('mpc-relay-local');
    expect(Object.fromEntries(profile ?? [])).toEqual({
      aws_access_key_id: first.credentials.accessKeyId,
      aws_secret_access_key: first.credentials.secretAccessKey,
    });
    expect(loadOrCreateCredentials(d, {})).toEqual({ ...first, created: false });
  });

  it('MPC_RELAY_ACCESS_KEY_ID / MPC_RELAY_SECRET_ACCESS_KEY override it (both or neither)', () => {
    const d = dir();
    const env = { [ACCESS_KEY_ENV]: 'AKIAFROMENVIRONMENT0', [SECRET_KEY_ENV]: 'secret-from-env' };
    expect(loadOrCreateCredentials(d, env)).toMatchObject({
      credentials: { accessKeyId: 'AKIAFROMENVIRONMENT0', secretAccessKey: 'secret-from-env' },
      source: `${ACCESS_KEY_ENV} / ${SECRET_KEY_ENV}`,
      created: false,
    });
    expect(() => statSync(join(d, 'credentials'))).toThrow();
    expect(() => loadOrCreateCredentials(d, { [ACCESS_KEY_ENV]: 'AKIAONLYTHEID0000000' })).toThrow(
      /set both MPC_RELAY_ACCESS_KEY_ID and MPC_RELAY_SECRET_ACCESS_KEY/,
    );
  });

  it('a credentials or jwt-secret file readable by group or others is refused, naming the chmod', () => {
    const d = dir();
    const { file } = loadOrCreateCredentials(d, {});
    chmodSync(file, 0o644);
    expect(() => loadOrCreateCredentials(d, {})).toThrow(UserError);
    expect(() => loadOrCreateCredentials(d, {})).toThrow(
      `the credentials file ${file} is readable by group or others (mode 0644); run: chmod 600 '${file}'`,
    );
    const secret = join(d, 'jwt-secret');
    writeFileSync(secret, `${'s'.repeat(43)}\n`, { mode: 0o640 });
    chmodSync(secret, 0o640);
    expect(() => loadOrCreateJwtSecret(d, {})).toThrow(`run: chmod 600 '${secret}'`);
    chmodSync(secret, 0o600);
    expect(loadOrCreateJwtSecret(d, {}).secret).toBe('s'.repeat(43));
  });

  it('a file without the profile is refused with what to do', () => {
    const d = dir();
    writeFileSync(join(d, 'credentials'), '[default]\naws_access_key_id = x\n', { mode: 0o600 });
    expect(() => loadOrCreateCredentials(d, {})).toThrow(/no \[mpc-relay-local\] profile .* delete it/);
  });
});

describe('the relay refuses what would expose it', () => {
  it('static auth on a non-loopback host unless --allow-static-on-network', async () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '192.168.1.10', 'example.com'].some(isLoopback)).toBe(false);
    const dataDir = join(dir(), 'data');
    await expect(startRelay({ port: 0, dataDir, host: '0.0.0.0' })).rejects.toThrow(
      /refusing --host 0\.0\.0\.0 with static auth: "Authorization: Allow" checks nothing.*--allow-static-on-network/,
    );
    // Refused before anything is created.
    expect(() => statSync(dataDir)).toThrow();
    expect(parseCli(['node', 'relay', '--host', '0.0.0.0', '--allow-static-on-network'])).toMatchObject({
      host: '0.0.0.0',
      allowStaticOnNetwork: true,
    });
    expect(parseCli(['node', 'relay'])).not.toHaveProperty('allowStaticOnNetwork');
  });

  it('creates a new data folder 0700', async () => {
    const parent = dir();
    const dataDir = join(parent, 'nested', 'data');
    mkdirSync(parent, { recursive: true });
    const relay = await startRelay({ port: 0, dataDir });
    try {
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(statSync(relay.credentialsFile).mode & 0o777).toBe(0o600);
    } finally {
      await relay.close();
    }
  });
});
