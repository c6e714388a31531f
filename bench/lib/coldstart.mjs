/**
 * Cold start of each handler bundle: size (raw, gzip) and module start time in a fresh `node`
 * process (median of N), against the same handler bundled the naive way:
 * esbuild `bundle: true, platform: node, format: esm` with its defaults otherwise (not minified;
 * `main` before `module`, so the SDK's CommonJS builds, which do not tree-shake) and the three
 * AWS SDK packages the handlers use imported whole (`import * as` the full clients, kept alive),
 * as a Lambda function written without care for its size would be.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { median, nowMs, round, summarize } from './stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const handlersDir = join(root, 'packages', 'handlers');
const shippedDir = join(handlersDir, 'dist');
/** Where the bench reads the bundles from: a copy taken at start (teammates may rebuild meanwhile). */
export const snapshotDir = join(root, 'bench', 'dist', 'shipped');
let bundlesDir = shippedDir;
const naiveDir = join(root, 'bench', 'dist', 'naive');

const NAIVE_SDK = [
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/lib-dynamodb',
  '@aws-sdk/client-apigatewaymanagementapi',
];

/** Environment a handler module may read at load time (same values as a local relay). */
export const HANDLER_ENV = {
  TABLE_NAME: 'mpc-relay-bench',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
  MANAGEMENT_ENDPOINT: 'http://127.0.0.1:9/production',
  AUTH_MODE: 'static',
  LOG_LEVEL: 'ERROR',
  POWERTOOLS_SERVICE_NAME: 'mpc-relay',
  POWERTOOLS_METRICS_NAMESPACE: 'MpcRelay',
};

/**
 * Copies every shipped bundle (dist/<handler>/index.mjs, self-contained) to bench/dist/shipped,
 * so a rebuild of the handlers during the run cannot change or remove what is measured.
 */
export function snapshotBundles() {
  bundlesDir = shippedDir;
  const names = listBundles();
  rmSync(snapshotDir, { recursive: true, force: true });
  const bundles = {};
  for (const name of names) {
    const text = readFileSync(join(shippedDir, name, 'index.mjs'));
    mkdirSync(join(snapshotDir, name), { recursive: true });
    writeFileSync(join(snapshotDir, name, 'index.mjs'), text);
    bundles[name] = createHash('sha256').update(text).digest('hex').slice(0, 16);
  }
  bundlesDir = snapshotDir;
  return { dir: snapshotDir, sha256: bundles };
}

export function listBundles() {
  if (!existsSync(bundlesDir)) return [];
  return readdirSync(bundlesDir)
    .filter((name) => name !== 'lib' && existsSync(join(bundlesDir, name, 'index.mjs')))
    .sort();
}

/** The bundle file plus every local file it imports (chunks), without source maps. */
function bundleFiles(entry) {
  const seen = new Set();
  const stack = [entry];
  while (stack.length > 0 && seen.size < 200) {
    const file = stack.pop();
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      stack.push(join(dirname(file), m[1]));
    }
  }
  return [...seen];
}

export function sizeOf(entry) {
  const files = bundleFiles(entry);
  const buffers = files.map((f) => readFileSync(f));
  const raw = buffers.reduce((s, b) => s + b.length, 0);
  const gzip = buffers.reduce((s, b) => s + gzipSync(b, { level: 9 }).length, 0);
  const text = buffers.map((b) => b.toString('utf8')).join('\n');
  const external = [...new Set([...text.matchAll(/from\s*["'](@aws-sdk\/[^"']+)["']/g)].map((m) => m[1]))];
  return { files: files.length, rawBytes: raw, gzipBytes: gzip, externalSdkImports: external };
}

/** Where the handler's TypeScript entry lives (the bundler's entry point). */
export function sourceEntry(name) {
  const candidates = [
    join(handlersDir, 'src', 'handlers', `${name}.ts`),
    join(handlersDir, 'src', 'handlers', name, 'index.ts'),
    join(handlersDir, 'src', `${name}.ts`),
  ];
  return candidates.find((c) => existsSync(c));
}

export async function buildNaive(name) {
  const entry = sourceEntry(name);
  if (!entry) return undefined;
  const require = createRequire(join(handlersDir, 'package.json'));
  const esbuild = require('esbuild');
  const outfile = join(naiveDir, name, 'index.mjs');
  mkdirSync(dirname(outfile), { recursive: true });
  const contents = [
    `export * from ${JSON.stringify(entry)};`,
    ...NAIVE_SDK.map((pkg, i) => `import * as sdk${i} from ${JSON.stringify(pkg)};`),
    `export const naiveSdk = [${NAIVE_SDK.map((_, i) => `sdk${i}`).join(', ')}];`,
  ].join('\n');
  await esbuild.build({
    stdin: { contents, resolveDir: handlersDir, sourcefile: `naive-${name}.mjs`, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
    banner: {
      js: "import { createRequire as naiveCreateRequire } from 'node:module'; const require = naiveCreateRequire(import.meta.url);",
    },
  });
  return outfile;
}

function runProbe(file) {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(process.execPath, [join(here, 'import-child.mjs'), pathToFileURL(file).href], {
      env: { PATH: process.env.PATH, ...HANDLER_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const wholeMs = nowMs() - t0;
      try {
        const line = JSON.parse(out.trim().split('\n').pop());
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve({ ...line, wholeProcessMs: wholeMs });
      } catch (error) {
        reject(new Error(`probe ${file} failed: ${error.message}\n${err.slice(-2000)}`));
      }
    });
  });
}

/** An empty ESM module: the floor of `node` starting and importing anything. */
async function emptyModule() {
  const file = join(naiveDir, '..', 'empty.mjs');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, 'export const handler = async () => ({ statusCode: 200 });\n');
  return file;
}

export async function measureColdStarts({ runs = 15, budgetMs = 120_000, log = () => {} } = {}) {
  // sendServer first: the hot path's bundle is the one that must be measured if time runs out.
  const names = listBundles().sort((a, b) => Number(b === 'sendServer') - Number(a === 'sendServer'));
  const deadline = nowMs() + budgetMs;
  const otherRuns = Math.min(runs, Math.max(3, Math.ceil(runs / 3)));
  const emptyFile = await emptyModule();
  const empty = [];
  for (let i = 0; i < Math.min(runs, 15); i++) empty.push(await runProbe(emptyFile));
  const results = [];
  for (const name of names) {
    const ours = join(bundlesDir, name, 'index.mjs');
    let naive;
    let naiveError;
    try {
      naive = await buildNaive(name);
    } catch (error) {
      naiveError = String(error.message ?? error).slice(0, 500);
    }
    const a = [];
    const b = [];
    let probeError;
    // The others get a third of the runs, so every bundle fits the budget on a loaded machine.
    const count = name === 'sendServer' ? runs : otherRuns;
    for (let i = 0; i < count && nowMs() < deadline && !probeError; i++) {
      try {
        a.push(await runProbe(ours));
        if (naive) b.push(await runProbe(naive));
      } catch (error) {
        probeError = String(error?.message ?? error).slice(0, 300);
      }
    }
    if (a.length === 0) {
      results.push({ handler: name, error: probeError ?? 'no run in the time budget' });
      log(`  cold start ${name}: failed (${probeError ?? 'no run in the time budget'})`);
      continue;
    }
    const entry = {
      handler: name,
      bundle: { path: `packages/handlers/dist/${name}/index.mjs`, ...sizeOf(ours) },
      importMs: summarize(a.map((x) => x.importMs)),
      wholeProcessMs: summarize(a.map((x) => x.wholeProcessMs)),
      exportsHandler: a.every((x) => x.hasHandler),
    };
    if (naive) {
      entry.naive = {
        path: `bench/dist/naive/${name}/index.mjs`,
        ...sizeOf(naive),
        importMs: summarize(b.map((x) => x.importMs)),
        wholeProcessMs: summarize(b.map((x) => x.wholeProcessMs)),
      };
      entry.ratio = {
        rawBytes: round(entry.naive.rawBytes / entry.bundle.rawBytes, 1),
        gzipBytes: round(entry.naive.gzipBytes / entry.bundle.gzipBytes, 1),
        importMedian: round(median(b.map((x) => x.importMs)) / median(a.map((x) => x.importMs)), 1),
        wholeProcessMedian: round(
          median(b.map((x) => x.wholeProcessMs)) / median(a.map((x) => x.wholeProcessMs)),
          2,
        ),
      };
    } else {
      entry.naive = { error: naiveError ?? 'no TypeScript entry found for this handler' };
    }
    log(
      `  cold start ${name}: import ${entry.importMs.median} ms${entry.naive.importMs ? ` (naive ${entry.naive.importMs.median} ms)` : ''}`,
    );
    results.push(entry);
  }
  return {
    method:
      'Each sample is a fresh `node` process that runs `await import(bundle)` between two process.hrtime readings (importMs); wholeProcessMs is spawn to exit as seen by the parent. Runs alternate ours/naive.',
    runsPerBundle: runs,
    runsOtherBundles: otherRuns,
    emptyModule: {
      importMs: summarize(empty.map((x) => x.importMs)),
      wholeProcessMs: summarize(empty.map((x) => x.wholeProcessMs)),
    },
    naiveBuild: `esbuild bundle, platform node, format esm, target node20, not minified, default mainFields (CommonJS SDK builds), with ${NAIVE_SDK.join(', ')} imported whole`,
    bundles: results,
  };
}
