/**
 * CPU profile of a process from inside it (node:inspector), summarized by where the code lives:
 * each sample's self time goes to the package or workspace folder of its function's script.
 */
import { Session } from 'node:inspector/promises';

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
  if (url.includes('/packages/handlers/dist/'))
    return 'handler bundles (own code + bundled AWS SDK, powertools)';
  if (url.includes('/packages/local-gateway/')) return 'local gateway';
  if (url.includes('/packages/protocol/')) return 'protocol package';
  if (url.includes('/apps/relay/')) return 'relay app';
  if (url.includes('/bench/')) return 'bench instrumentation';
  const pkgs = [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)];
  const pkg = pkgs.length > 0 ? pkgs[pkgs.length - 1][1] : '';
  if (pkg === 'ws') return 'ws (WebSocket framing)';
  if (pkg.startsWith('@aws-sdk/') || pkg.startsWith('@smithy/') || pkg.startsWith('@aws-crypto/')) {
    return 'AWS SDK (from node_modules)';
  }
  if (DYNALITE_FAMILY.test(pkg)) return 'dynalite (+ its level store)';
  if (pkg) return `other package: ${pkg}`;
  return 'other';
}
