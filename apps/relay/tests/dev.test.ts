import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { handlersPackageDir } from '../src/dev-watch.js';
import { type DevWatch, type Relay, startRelay, watchHandlers } from '../src/index.js';
import { APP_DIR, Peer, tempDir, waitFor } from './helpers.js';

const root = tempDir('relay-dev-');
let relay: Relay | undefined;
let watcher: DevWatch | undefined;
let devProcess: ChildProcess | undefined;
afterAll(async () => {
  watcher?.close();
  await relay?.close();
  if (devProcess?.exitCode === null) process.kill(-devProcess.pid!, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

it('pnpm dev: a handler edit is rebuilt and used for the next event, open connections kept', async () => {
  // A private copy of the real bundles, so the test never rebuilds the shared ones.
  const handlersDir = join(root, 'dist');
  cpSync(join(handlersPackageDir(), 'dist'), handlersDir, { recursive: true });
  const watchDir = join(root, 'src');
  mkdirSync(watchDir);
  const lines: string[] = [];
  relay = await startRelay({ port: 0, dataDir: join(root, 'data'), handlersDir });
  let builds = 0;
  watcher = watchHandlers({
    gateway: relay.gateway,
    watchDir,
    log: (line) => lines.push(line),
    // Stands in for the handlers' bundle script: writes a new `default` bundle.
    build: async () => {
      builds++;
      writeFileSync(
        join(handlersDir, 'default', 'index.mjs'),
        `export const handler = async () => ({ statusCode: 200, body: JSON.stringify({ build: ${builds} }) });\n`,
      );
      return { rebuilt: ['default'] };
    },
  });

  const cli = await Peer.open(relay.url, 'type=cli&cliId=devCli');
  cli.send('not json'); // the real $default handler answers an error frame
  expect(JSON.parse(await cli.next())).toHaveProperty('error');

  writeFileSync(join(watchDir, 'default.ts'), '// edited\n');
  await waitFor(() => lines.some((l) => l.includes('reloaded')), 'the reload');
  cli.send('not json');
  expect(JSON.parse(await cli.next())).toEqual({ build: 1 });

  // Same connection, still open; the other real handlers keep working after the reload.
  expect(cli.closed).toBeUndefined();
  cli.send({ action: 'getConnectionId' });
  const { connectionId } = JSON.parse(await cli.next());
  expect(relay.gateway.connections().map((c) => c.connectionId)).toEqual([connectionId]);
  expect(lines.join('\n')).toMatch(/open connections kept \(1\)/);
  cli.close();
});

it('pnpm dev (a real process): a syntax error says file:line and keeps the old code running; the next good save reloads', async () => {
  // A copy of the handlers package (its own dependencies linked), so the repository's sources
  // are never broken; the dev command watches and serves the copy.
  const handlersPackage = join(root, 'handlers-copy');
  for (const part of ['src', 'scripts', 'dist', 'package.json'])
    cpSync(join(handlersPackageDir(), part), join(handlersPackage, part), { recursive: true });
  symlinkSync(join(handlersPackageDir(), 'node_modules'), join(handlersPackage, 'node_modules'), 'dir');
  const ping = join(handlersPackage, 'src', 'handlers', 'ping.ts');
  const original = readFileSync(ping, 'utf8');

  // As a user runs it, through pnpm (a non-zero exit would print pnpm's ELIFECYCLE line).
  let output = '';
  const dev = spawn('pnpm', ['run', 'dev', '--', '--port', '0', '--data-dir', join(root, 'dev-data')], {
    cwd: join(APP_DIR, '..', '..'),
    env: { ...process.env, MPC_RELAY_DEV_HANDLERS_PACKAGE: handlersPackage, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, signalled as Ctrl-C signals a terminal's
  });
  devProcess = dev;
  dev.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  dev.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => dev.on('exit', resolve));
  await waitFor(() => output.includes('Ready.') || dev.exitCode !== null, 'pnpm dev to be ready', 120_000);
  expect(output).toContain(`dev, watching ${join(handlersPackage, 'src')}`);
  const url = /WebSocket\s+(\S+)/.exec(output)![1]!;
  const cli = await Peer.open(url, 'type=cli&cliId=devProcessCli');
  cli.send({ action: 'ping' });
  expect(JSON.parse(await cli.next(60_000))).toEqual({ pong: expect.any(Number) });

  const beforeBreak = output.length;
  writeFileSync(ping, `${original}\nexport const broken = ;\n`);
  await waitFor(
    () => output.slice(beforeBreak).includes('rebuild     failed'),
    'the failed rebuild',
    120_000,
  );
  const brokenLine = original.split('\n').length + 1;
  expect(output.slice(beforeBreak)).toMatch(
    new RegExp(
      `rebuild {5}failed, the previous code keeps running until the next good save:\\n {2}src/handlers/ping\\.ts:${brokenLine}:\\d+: Unexpected ";"`,
    ),
  );
  // Still up, still serving the code it had.
  expect(dev.exitCode).toBeNull();
  cli.send({ action: 'ping' });
  expect(JSON.parse(await cli.next(60_000))).toEqual({ pong: expect.any(Number) });

  const beforeFix = output.length;
  const edited = original.replace('return answer(encodePong());', `return answer('{"pong":"edited"}');`);
  expect(edited).not.toBe(original);
  writeFileSync(ping, edited);
  await waitFor(() => /reloaded {4}ping in/.test(output.slice(beforeFix)), 'the reload', 120_000);
  cli.send({ action: 'ping' });
  expect(JSON.parse(await cli.next(60_000))).toEqual({ pong: 'edited' });
  expect(cli.closed).toBeUndefined();
  cli.close();

  process.kill(-dev.pid!, 'SIGINT');
  expect(await exited).toBe(0);
  expect(output).toContain('Stopped.');
  expect(output).not.toMatch(/ELIFECYCLE|Command failed/);
}, 300_000);
