import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HANDLER_NAMES } from '@mpc-relay/handlers/routes';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createIncrementalBuild, type IncrementalBuild } from '../src/dev-build.js';
import { handlersPackageDir } from '../src/dev-watch.js';
import { tempDir } from './helpers.js';

// The real handler sources, built into a private folder (the shared dist is never written here).
const out = tempDir('relay-dev-build-');
let build: IncrementalBuild;
beforeAll(async () => {
  build = await createIncrementalBuild(handlersPackageDir(), HANDLER_NAMES, out);
}, 120_000);
afterAll(async () => {
  await build?.dispose();
  rmSync(out, { recursive: true, force: true });
});

it('builds every bundle first, byte for byte what the handlers package ships', async () => {
  const first = await build.rebuild();
  expect([...first.rebuilt].sort()).toEqual([...HANDLER_NAMES].sort());
  for (const name of HANDLER_NAMES) {
    const shipped = readFileSync(join(handlersPackageDir(), 'dist', name, 'index.mjs'), 'utf8');
    expect(readFileSync(join(out, name, 'index.mjs'), 'utf8')).toBe(shipped);
  }
}, 120_000);

it('then rebuilds only the bundles that include the changed file', async () => {
  expect((await build.rebuild(['src/handlers/ping.ts'])).rebuilt).toEqual(['ping']);
  const shared = await build.rebuild(['src/poster.ts']);
  expect(shared.rebuilt).toContain('sendServer');
  expect(shared.rebuilt).not.toContain('authorizer');
  // A path no bundle includes yet (a new file): everything, to be safe.
  expect((await build.rebuild(['src/new-module.ts'])).rebuilt.length).toBe(HANDLER_NAMES.length);
}, 120_000);
