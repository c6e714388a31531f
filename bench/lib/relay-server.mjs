/**
 * The relay under test, in a child process of the bench: the real `startRelay` of apps/relay
 * (local gateway + handler bundles + dynalite). Its data folder is a fresh temporary one, removed
 * on close. Extra startRelay options come as JSON in BENCH_RELAY_OPTIONS.
 *
 * Plain (the default): the gateway loads the bundles as shipped, exactly as serverless-offline gets
 * them; what it counts comes from outside the handlers only (the gateway's 'route' / 'management'
 * events, the store process's request counter). Instrumented (BENCH_INSTRUMENTED=1): the gateway
 * loads wrapper modules (instrumented-bundles.mjs) around the unchanged bundles, and instrument.mjs
 * wraps http.request in every thread that runs handlers (this one in-process, each execution
 * environment otherwise): exact per-route counts and where an invocation's time goes, at the price
 * of AsyncLocalStorage and a wrapped http.request on every invocation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serveChild } from './child-runtime.mjs';
import { categorizeRelayFrame, startProfile, stopProfile } from './profile.mjs';

const instrumented = process.env.BENCH_INSTRUMENTED === '1';
// Loaded only when asked for: the plain relay carries nothing of the bench's instrumentation.
const instrument = instrumented ? await import('./instrument.mjs') : undefined;
instrument?.install();

// BENCH_RELAY_MODULE: another module exporting startRelay (e.g. to compare two builds).
const relayModule = process.env.BENCH_RELAY_MODULE
  ? pathToFileURL(process.env.BENCH_RELAY_MODULE)
  : new URL('../../apps/relay/dist/index.js', import.meta.url);
const { startRelay } = await import(relayModule.href);
const options = JSON.parse(process.env.BENCH_RELAY_OPTIONS ?? '{}');
const dataDir = mkdtempSync(join(tmpdir(), 'mpc-relay-bench-'));
const bundlesDir =
  options.handlersDir ?? fileURLToPath(new URL('../../packages/handlers/dist', import.meta.url));
let handlersDir = bundlesDir;
if (instrument) {
  const { writeInstrumentedBundles } = await import('./instrumented-bundles.mjs');
  handlersDir = join(dataDir, 'handlers');
  writeInstrumentedBundles(bundlesDir, handlersDir);
}
const relay = await startRelay({
  host: '127.0.0.1',
  port: 0,
  dataDir: join(dataDir, 'store'),
  ...options,
  handlersDir,
});
const environments = () =>
  Object.values(relay.gateway?.environments?.() ?? {}).reduce((sum, n) => sum + n, 0);

// The gateway's own events: counts seen from outside the handlers (a cross-check of the counts
// taken at the handlers and at http.request when instrumented, the only counts when plain).
let gatewayCounts;
const resetGateway = () => {
  gatewayCounts = { routes: {}, management: {} };
};
resetGateway();
if (typeof relay.gateway?.on === 'function') {
  relay.gateway.on('route', (e) => {
    const key = `${e.routeKey} ${e.outcome}`;
    gatewayCounts.routes[key] = (gatewayCounts.routes[key] ?? 0) + 1;
  });
  relay.gateway.on('management', (e) => {
    const key = `${e.method} ${e.status}`;
    gatewayCounts.management[key] = (gatewayCounts.management[key] ?? 0) + 1;
  });
}

/** HTTP requests the store process has answered since it started (its own counter), if it says. */
async function storeRequests() {
  try {
    const stats = await relay.store?.stats?.();
    return typeof stats?.requests === 'number' ? stats.requests : undefined;
  } catch {
    return undefined;
  }
}

// The handlers' own DynamoDB request counters (one per thread that runs handlers), at the last reset.
let counterBase;
let storeBase;

serveChild(
  {
    counters: async () => {
      const store = await storeRequests();
      const common = {
        instrumented,
        environments: relay.gateway?.environments?.() ?? {},
        gateway: gatewayCounts,
        storeRequests: store !== undefined && storeBase !== undefined ? store - storeBase : undefined,
      };
      if (!instrument) return common;
      const { handlersCounter: now, ...counts } = await instrument.snapshotAll(environments());
      const handlersCount = now && {
        total: now.total - (counterBase?.total ?? 0),
        byCommand: Object.fromEntries(
          Object.entries(now.byCommand).map(([k, v]) => [k, v - (counterBase?.byCommand?.[k] ?? 0)]),
        ),
      };
      return { ...counts, ...common, handlersCounter: handlersCount };
    },
    reset: async () => {
      resetGateway();
      storeBase = await storeRequests();
      if (instrument) counterBase = await instrument.resetAll(environments());
      return true;
    },
    profileStart: ({ intervalUs }) => startProfile(intervalUs),
    profileStop: () => stopProfile(categorizeRelayFrame),
  },
  async () => {
    await relay.close();
    rmSync(dataDir, { recursive: true, force: true });
  },
);
process.send({
  type: 'ready',
  url: relay.url,
  managementEndpoint: relay.managementEndpoint,
  dataDir,
  instrumented,
});
