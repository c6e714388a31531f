/**
 * CPU profile of a process from inside it (node:inspector), summarized by where the code lives:
 * each sample's self time goes to the package or workspace folder of its function's script.
 */
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

let session;

export async function startProfile(intervalUs = 500) {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
}

export async function stopProfile(categorize) {
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  session = undefined;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const deltas = profile.timeDeltas ?? [];
  const totals = new Map();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const us = deltas[i + 1] ?? 0;
    const category = categorize(node?.callFrame ?? {});
    totals.set(category, (totals.get(category) ?? 0) + us);
    totalUs += us;
  }
  return {
    totalMs: Math.round(totalUs / 1000),
    categories: [...totals.entries()]
      .map(([category, us]) => ({
        category,
        ms: Math.round(us / 1000),
        share: Math.round((us / totalUs) * 1000) / 10,
      }))
      .sort((a, b) => b.ms - a.ms),
  };
}

const DYNALITE_FAMILY =
  /^(dynalite|level|leveldown|levelup|memdown|subleveldown|abstract-leveldown|deferred-leveldown|encoding-down|level-.*|lazy|big\.js|lock|once|async|buffer-crc32|minimist|classic-level|memory-level|abstract-level|module-error|queue-microtask|catering|napi-macros|node-gyp-build|functional-red-black-tree|inherits|reachdown|xtend|immediate|ltgt|level-iterator-stream|readable-stream|string_decoder|util-deprecate|safe-buffer)$/;

const sourceMaps = new Map();

function sourceMapFor(url) {
  const file = url.split('?')[0];
  if (!sourceMaps.has(file)) {
    try {
      sourceMaps.set(file, new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(file)}.map`, 'utf8'))));
    } catch {
      sourceMaps.set(file, null);
    }
  }
  return sourceMaps.get(file);
}

function packageOf(path) {
  const pkgs = [...path.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)];
  return pkgs.length > 0 ? pkgs[pkgs.length - 1][1] : '';
}

/** A sample in a source-mapped handler bundle, by the package its original source belongs to. */
function bundleCategory(frame) {
  const map = sourceMapFor(frame.url);
  const entry = map?.findEntry(frame.lineNumber ?? 0, frame.columnNumber ?? 0);
  const source = entry?.originalSource ?? '';
  if (!source) return 'handler bundles (unmapped)';
  const pkg = packageOf(source);
  if (pkg.startsWith('@aws-sdk/') || pkg.startsWith('@smithy/') || pkg.startsWith('@aws-crypto/')) {
    return 'handler bundles: AWS SDK (marshalling, middleware, SigV4, HTTP handler)';
  }
  if (pkg === 'zod') return 'handler bundles: zod (frame validation)';
  if (pkg.startsWith('@aws-lambda-powertools/')) return 'handler bundles: powertools (logger, metrics)';
  if (pkg) return `handler bundles: ${pkg}`;
  if (source.includes('packages/protocol/')) return 'handler bundles: protocol package';
  if (source.includes('packages/handlers/src/')) return "handler bundles: the handlers' own code";
  return 'handler bundles: other';
}

/** Default categories for the relay process. */
export function categorizeRelayFrame(frame) {
  const url = frame.url ?? '';
  const fn = frame.functionName ?? '';
  if (!url) {
    if (fn === '(garbage collector)') return 'V8 garbage collector';
    if (fn === '(idle)') return 'idle (waiting for I/O)';
    if (fn === '(program)') return 'native (libuv, syscalls, V8 runtime)';
    if (fn === '(root)') return 'native (libuv, syscalls, V8 runtime)';
    return 'native (libuv, syscalls, V8 runtime)';
  }
  if (url.startsWith('node:')) return 'Node core (net, http, streams, timers)';
  if (url.includes('/bench/dist/profiled/')) return bundleCategory(frame);
  if (url.includes('/packages/handlers/dist/') || url.includes('/bench/dist/shipped/'))
    return 'handler bundles (own code + bundled AWS SDK, powertools)';
  if (url.includes('/packages/local-gateway/')) return 'local gateway';
  if (url.includes('/packages/protocol/')) return 'protocol package';
  if (url.includes('/apps/relay/')) return 'relay app';
  if (url.includes('/bench/')) return 'bench instrumentation';
  const pkg = packageOf(url);
  if (pkg === 'ws') return 'ws (WebSocket framing)';
  if (pkg.startsWith('@aws-sdk/') || pkg.startsWith('@smithy/') || pkg.startsWith('@aws-crypto/')) {
    return 'AWS SDK (from node_modules)';
  }
  if (DYNALITE_FAMILY.test(pkg)) return 'dynalite (+ its level store)';
  if (pkg) return `other package: ${pkg}`;
  return 'other';
}
