import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeArgv } from '../src/cli.js';
import { Peer, RelayProcess, tempDir, waitFor } from './helpers.js';

const processes: RelayProcess[] = [];
const dirs: string[] = [];
const dir = (prefix: string) => {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const p of processes) p.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const start = (script: 'main' | 'dev', args: string[], env: Record<string, string> = {}) => {
  const p = RelayProcess.start(script, args, env);
  processes.push(p);
  return p;
};

/** A user error: non-zero exit, exactly one line on stderr, no stack trace. */
function expectOneLineError(p: RelayProcess, pattern: RegExp): void {
  expect(p.exitCode).not.toBe(0);
  const lines = p.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(p.stderr).not.toMatch(/\n\s+at /);
}

describe('normalizeArgv', () => {
  it('drops the literal -- a package manager may put before the flags', () => {
    expect(normalizeArgv(['node', 'main.js', '--', '--port', '4000'])).toEqual([
      'node',
      'main.js',
      '--port',
      '4000',
    ]);
    expect(normalizeArgv(['node', 'main.js', '--port', '4000'])).toEqual([
      'node',
      'main.js',
      '--port',
      '4000',
    ]);
  });
});

describe('the relay command (a real process)', () => {
  it('starts, prints its URLs, serves the v1 flow, logs one line per event, stops cleanly on SIGTERM', async () => {
    const dataDir = dir('relay-cli-');
    const relay = start('main', ['--', '--port', '0', '--data-dir', dataDir]);
    const url = await relay.ready();
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/production$/);
    expect(relay.stdout).toContain(`Management  ${url.replace('ws://', 'http://')}/@connections`);
    const lambda = url.replace('ws://', 'http://').replace(/\/production$/, '');
    expect(relay.stdout).toContain(`Lambda      ${lambda}\n`);
    expect(relay.stdout).toContain(`Data        ${dataDir}`);
    // The inspector: a per-start token in the URL; the page answers with it and refuses without.
    const inspector = /Inspector {3}(\S+)/.exec(relay.stdout)?.[1] ?? '';
    expect(inspector).toMatch(new RegExp(`^${lambda}/_inspector/\\?token=[\\w-]{32}$`));
    expect((await fetch(inspector)).status).toBe(200);
    expect((await fetch(inspector.replace(/\?token=.*/, ''))).status).toBe(401);
    const credentials = join(dataDir, 'credentials');
    expect(relay.stdout).toContain(
      `Broadcast   AWS_SHARED_CREDENTIALS_FILE='${credentials}' AWS_PROFILE=mpc-relay-local aws lambda invoke --endpoint-url ${lambda} --region us-east-1 --function-name broadcast`,
    );
    const cli = await Peer.open(url, 'type=cli&cliId=cli123');
    cli.send({ action: 'getConnectionId' });
    expect(JSON.parse(await cli.next())).toHaveProperty('connectionId');
    await waitFor(() => /message\s+\S+ cli:cli123 getConnectionId/.test(relay.stdout), 'the message line');
    relay.child.kill('SIGTERM');
    expect(await relay.exited()).toBe(0);
    expect(cli.closed).toBe(1001);
    expect(relay.stdout).toMatch(/disconnect\s+\S+ cli:cli123 1001 shutdown/);
    expect(relay.stdout).toContain('Stopped.');
    expect(relay.stderr).toBe('');
  });

  it('takes its settings from the environment (PORT, STAGE, DATA_DIR, NO_INSPECTOR)', async () => {
    const dataDir = dir('relay-env-');
    const relay = start('main', [], { PORT: '0', STAGE: 'dev', DATA_DIR: dataDir, NO_INSPECTOR: '1' });
    const url = await relay.ready();
    expect(url).toMatch(/\/dev$/);
    expect(relay.stdout).toContain(`Data        ${dataDir}`);
    expect(relay.stdout).not.toContain('Inspector');
    const page = `${url.replace('ws://', 'http://').replace(/\/dev$/, '')}/_inspector/`;
    expect((await fetch(page)).status).toBe(403);
    relay.child.kill('SIGINT');
    expect(await relay.exited()).toBe(0);
  });

  it('Ctrl-C under pnpm (SIGINT from the terminal and again from pnpm) stops cleanly, exit 0', async () => {
    const relay = start('main', ['--port', '0', '--data-dir', dir('relay-ctrl-c-')]);
    await relay.ready();
    relay.child.kill('SIGINT');
    relay.child.kill('SIGINT');
    expect(await relay.exited()).toBe(0);
    expect(relay.stdout).toContain('Stopped.');
    expect(relay.stderr).toBe('');
  });

  it('a port in use: one clear line and a non-zero exit', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const relay = start('main', ['--port', String(port), '--data-dir', dir('relay-busy-')]);
      await relay.exited();
      expectOneLineError(relay, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      blocker.close();
    }
  });

  it('an unknown flag: one clear line and a non-zero exit', async () => {
    const relay = start('main', ['--bogus']);
    await relay.exited();
    expectOneLineError(relay, /unknown option '--bogus'/);
  });

  it('a bad port value: one clear line and a non-zero exit', async () => {
    const relay = start('main', ['--port', 'abc']);
    await relay.exited();
    expectOneLineError(relay, /port must be a whole number/);
  });

  it('a bad auth mode: one clear line and a non-zero exit', async () => {
    const relay = start('main', ['--auth', 'nope']);
    await relay.exited();
    expectOneLineError(relay, /nope.*invalid|Allowed choices/i);
  });

  it('a data folder used by another running relay: one clear line and a non-zero exit', async () => {
    const dataDir = dir('relay-shared-');
    const first = start('main', ['--port', '0', '--data-dir', dataDir]);
    await first.ready();
    const second = start('main', ['--port', '0', '--data-dir', dataDir]);
    await second.exited();
    expectOneLineError(second, /data folder .* is in use by another relay \(pid \d+\)/);
    first.child.kill('SIGINT');
    expect(await first.exited()).toBe(0);
  });

  it('an unwritable data folder: one clear line and a non-zero exit', async () => {
    const file = join(dir('relay-file-'), 'not-a-folder');
    writeFileSync(file, 'x');
    const relay = start('main', ['--port', '0', '--data-dir', join(file, 'data')]);
    await relay.exited();
    expectOneLineError(relay, /data folder .* is not writable/);
  });
});
