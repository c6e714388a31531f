import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { handlersPackageDir } from '../src/dev-watch.js';
import { type DevWatch, type Relay, startRelay, watchHandlers } from '../src/index.js';
import { Peer, tempDir, waitFor } from './helpers.js';

const root = tempDir('relay-dev-');
let relay: Relay | undefined;
let watcher: DevWatch | undefined;
afterAll(async () => {
  watcher?.close();
  await relay?.close();
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
