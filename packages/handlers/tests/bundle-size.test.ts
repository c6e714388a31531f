import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a build script (plain ESM), not part of the TypeScript project
import { handlerBundleOptions } from '../scripts/bundle-options.mjs';
import { HANDLER_NAMES } from '../src/routes.js';

const root = join(import.meta.dirname, '..');

/**
 * Raw bytes per bundle (decimal: 300,000 is "300 KB"). The hot path, sendServer, is held to
 * 300 KB; the others to what they weighed when these budgets were set, plus a few KB for
 * dependency updates. Raise one only on purpose. Weighed then (scripts/bundle.mjs):
 * authorizer 306,676; connect 252,733; disconnect 239,613; getConnectionId 276,588;
 * sendServer 292,383; ack 262,183; ping 276,512; default 133,324; broadcast 249,076.
 */
const MAX_BYTES: Record<string, number> = {
  sendServer: 300_000,
  authorizer: 315_000,
  connect: 260_000,
  disconnect: 247_000,
  getConnectionId: 285_000,
  ack: 270_000,
  ping: 285_000,
  default: 140_000,
  broadcast: 257_000,
};

async function bundle(name: string) {
  const result = await build({
    ...handlerBundleOptions(join(root, 'src/handlers', `${name}.ts`), join(root, 'dist', name, 'index.mjs')),
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const output = result.outputFiles?.[0];
  return { bytes: output?.contents.byteLength ?? 0, inputs: Object.keys(result.metafile?.inputs ?? {}) };
}

describe('bundle size budgets (the same esbuild options as scripts/bundle.mjs)', () => {
  it('keeps sendServer within 300,000 bytes: zod/mini only, no mnemonist, no generated management API client', async () => {
    const { bytes, inputs } = await bundle('sendServer');
    expect(bytes).toBeGreaterThan(100_000);
    expect(bytes).toBeLessThanOrEqual(MAX_BYTES.sendServer ?? 0);
    expect(inputs.some((path) => /[\\/]zod[\\/]v4[\\/]mini[\\/]/.test(path))).toBe(true);
    expect(inputs.filter((path) => /[\\/]zod[\\/]v4[\\/]classic[\\/]/.test(path))).toEqual([]);
    expect(inputs.filter((path) => /[\\/]mnemonist[\\/]/.test(path))).toEqual([]);
    expect(inputs.filter((path) => /client-apigatewaymanagementapi/.test(path))).toEqual([]);
  });

  it('has a budget for every handler of the route table', () => {
    expect(Object.keys(MAX_BYTES).sort()).toEqual([...HANDLER_NAMES].sort());
  });

  for (const name of Object.keys(MAX_BYTES).filter((name) => name !== 'sendServer')) {
    it(`keeps ${name} within ${MAX_BYTES[name]?.toLocaleString('en-US')} bytes`, async () => {
      const { bytes } = await bundle(name);
      expect(bytes).toBeGreaterThan(50_000);
      expect(bytes).toBeLessThanOrEqual(MAX_BYTES[name] ?? 0);
    });
  }
});
