import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createLocalGateway, type LocalGateway } from '../src/index.js';
import { TestClient } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-reload-'));
let gateway: LocalGateway | undefined;
afterAll(async () => {
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeVersion(version: string): void {
  mkdirSync(join(dir, 'version'), { recursive: true });
  writeFileSync(
    join(dir, 'version', 'index.mjs'),
    `export const handler = async () => ({ statusCode: 200, body: ${JSON.stringify(version)} });\n`,
  );
}

it('reloadHandlers() makes the next event use the new bundle without dropping connections', async () => {
  writeVersion('v1');
  gateway = await createLocalGateway({
    port: 0,
    handlersDir: dir,
    routes: [{ routeKey: 'version', handler: 'version', twoWay: true }],
    authorizer: null,
  });
  const client = await TestClient.open(gateway.url);
  client.send({ action: 'version' });
  expect(await client.next()).toBe('v1');

  writeVersion('v2');
  client.send({ action: 'version' });
  expect(await client.next()).toBe('v1'); // loaded modules stay until a reload

  gateway.reloadHandlers();
  client.send({ action: 'version' });
  expect(await client.next()).toBe('v2');
  expect(client.closed).toBeUndefined();
  expect(gateway.connections()).toHaveLength(1);
  client.close();
});
