// The esbuild options of the shipped handler bundles, in one place: scripts/bundle.mjs builds
// dist/<handler>/index.mjs with them, and the bench (bench/lib/profiled-bundles.mjs) rebuilds with
// exactly them (plus a source map) and checks the result is byte-identical to what ships.

// Some transitive CommonJS dependencies call require() on Node built-ins; in an ESM bundle that
// needs a real `require`.
const banner = [
  "import { createRequire as __mpcRelayCreateRequire } from 'node:module';",
  'const require = __mpcRelayCreateRequire(import.meta.url);',
].join('\n');

export const BUNDLE_TARGET = 'node22';

/** esbuild options for one handler bundle (ESM, minified, AWS SDK v3 bundled and tree-shaken). */
export function handlerBundleOptions(entry, outfile) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: BUNDLE_TARGET,
    format: 'esm',
    minify: true,
    treeShaking: true,
    // Prefer the ES module builds (dist-es) of the AWS SDK: they tree-shake.
    mainFields: ['module', 'main'],
    banner: { js: banner },
    legalComments: 'none',
  };
}
