import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a build script (plain ESM), not part of the TypeScript project
import { handlerBundleOptions } from '../scripts/bundle-options.mjs';

const root = join(import.meta.dirname, '..');

/**
 * The hot path's bundle, raw bytes (the bench's "KB" is KiB). What it weighed when this budget was
 * set: 308 KiB (classic zod 98 KB -> zod/mini 33 KB; no mnemonist; no relay frame schemas).
 * Raise it only on purpose.
 */
const SEND_SERVER_MAX_BYTES = 312 * 1024;

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

describe('bundle size budget (the same esbuild options as scripts/bundle.mjs)', () => {
  it(`keeps sendServer within ${SEND_SERVER_MAX_BYTES / 1024} KiB, validating with zod/mini only`, async () => {
    const { bytes, inputs } = await bundle('sendServer');
    expect(bytes).toBeGreaterThan(100 * 1024);
    expect(bytes).toBeLessThanOrEqual(SEND_SERVER_MAX_BYTES);
    expect(inputs.some((path) => /[\\/]zod[\\/]v4[\\/]mini[\\/]/.test(path))).toBe(true);
    expect(inputs.filter((path) => /[\\/]zod[\\/]v4[\\/]classic[\\/]/.test(path))).toEqual([]);
    expect(inputs.filter((path) => /[\\/]mnemonist[\\/]/.test(path))).toEqual([]);
  });
});
