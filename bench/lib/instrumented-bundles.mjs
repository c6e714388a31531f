/**
 * Wrapper modules the instrumented servers under test (the relay, serverless-offline) load instead of the bundles: `<dir>/<handler>/index.mjs`
 * imports the bench's instrumentation and the unchanged bundle, and exports the bundle's handler
 * wrapped (counted, timed, attributed). Works alike in the gateway's execution environments
 * (worker threads: each loads its own wrapper, instrumentation and bundle) and in-process.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const instrument = new URL('./instrument.mjs', import.meta.url).href;

/** Writes the wrappers of every bundle in `bundlesDir` (or of the `only` ones) into `outDir`. */
export function writeInstrumentedBundles(bundlesDir, outDir, only) {
  const names = (only ?? readdirSync(bundlesDir)).filter((n) => existsSync(join(bundlesDir, n, 'index.mjs')));
  for (const name of names) {
    const bundle = pathToFileURL(join(bundlesDir, name, 'index.mjs')).href;
    mkdirSync(join(outDir, name), { recursive: true });
    writeFileSync(
      join(outDir, name, 'index.mjs'),
      [
        `import { wrapHandler } from ${JSON.stringify(instrument)};`,
        `import * as original from ${JSON.stringify(bundle)};`,
        `export const handler = wrapHandler(${JSON.stringify(name)}, original.handler);`,
        '',
      ].join('\n'),
    );
  }
  return names;
}
