// The esbuild options of the shipped handler bundles, in one place: scripts/bundle.mjs builds
// dist/<handler>/index.mjs with them, and the bench (bench/lib/profiled-bundles.mjs) rebuilds with
// exactly them (plus a source map) and checks the result is byte-identical to what ships.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Some transitive CommonJS dependencies call require() on Node built-ins; in an ESM bundle that
// needs a real `require`.
const banner = [
  "import { createRequire as __mpcRelayCreateRequire } from 'node:module';",
  'const require = __mpcRelayCreateRequire(import.meta.url);',
].join('\n');

export const BUNDLE_TARGET = 'node22';

const credentialsModule = fileURLToPath(new URL('../src/aws/credentials.ts', import.meta.url));
const lruCacheModule = fileURLToPath(new URL('../src/aws/lru-cache.ts', import.meta.url));

/**
 * Credentials come from the environment only, as on Lambda: the SDK's default provider chain
 * (SSO, STS, IMDS, ini files, and the nested clients they carry, about 90 KB) is replaced by the
 * environment provider wherever a client would fall back to it.
 */
const environmentCredentialsOnly = {
  name: 'environment-credentials-only',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({ path: credentialsModule }));
  },
};

/**
 * Code the two services the handlers call (DynamoDB, the API Gateway management API) can never
 * run: event-stream serde (loaded by the protocol layer only for operations with event streams;
 * neither service has one), the whole package.json a client imports for its version string, and
 * mnemonist behind the DynamoDB client's unused endpoint-discovery cache (src/aws/lru-cache.ts
 * keeps its LRU contract on a Map).
 */
const deadWeight = {
  name: 'dead-weight',
  setup(build) {
    build.onResolve({ filter: /^@smithy\/core\/event-streams$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: 'event-streams', namespace: 'mpc-relay-unused' } : undefined,
    );
    build.onResolve({ filter: /^mnemonist\/lru-cache(\.js)?$/ }, () => ({ path: lruCacheModule }));
    build.onLoad({ filter: /.*/, namespace: 'mpc-relay-unused' }, () => ({
      contents: "throw new Error('event streams are not bundled: no operation of this client uses them');",
      loader: 'js',
    }));
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]package\.json$/ }, (args) => {
      const { name, version } = JSON.parse(readFileSync(args.path, 'utf8'));
      return { contents: JSON.stringify({ name, version }), loader: 'json' };
    });
  },
};

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
    plugins: [environmentCredentialsOnly, deadWeight],
  };
}
