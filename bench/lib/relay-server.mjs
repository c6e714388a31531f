/**
 * The relay under test, in a child process of the bench: the real `startRelay` of apps/relay
 * (local gateway + handler bundles + dynalite), with outside-in instrumentation: the gateway loads
 * wrapper modules (instrumented-bundles.mjs) around the unchanged bundles, and instrument.mjs wraps
 * http.request in every thread that runs handlers (this one in-process, each execution environment
 * otherwise). Its data folder is a fresh temporary one, removed on close. Extra startRelay options
 * come as JSON in BENCH_RELAY_OPTIONS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serveChild } from './child-runtime.mjs';
import { install, resetAll, snapshotAll } from './instrument.mjs';
import { writeInstrumentedBundles } from './instrumented-bundles.mjs';
import { categorizeRelayFrame, startProfile, stopProfile } from './profile.mjs';

install();

// BENCH_RELAY_MODULE: another module exporting startRelay (e.g. to compare two builds).
const relayModule = process.env.BENCH_RELAY_MODULE
  ? pathToFileURL(process.env.BENCH_RELAY_MODULE)
  : new URL('../../apps/relay/dist/index.js', import.meta.url);
const { startRelay } = await import(relayModule.href);
const options = JSON.parse(process.env.BENCH_RELAY_OPTIONS ?? '{}');
const dataDir = mkdtempSync(join(tmpdir(), 'mpc-relay-bench-'));
const bundlesDir =
  options.handlersDir ?? fileURLToPath(new URL('../../packages/handlers/dist', import.meta.url));
const wrappersDir = join(dataDir, 'handlers');
writeInstrumentedBundles(bundlesDir, wrappersDir);
const relay = await startRelay({
  host: '127.0.0.1',
  port: 0,
  dataDir: join(dataDir, 'store'),
  ...options,
  handlersDir: wrappersDir,
});
const environments = () =>
  Object.values(relay.gateway?.environments?.() ?? {}).reduce((sum, n) => sum + n, 0);

// The gateway's own events, as a cross-check of the counts taken at the handlers and at http.request.
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

// The handlers' own DynamoDB request counters (one per thread that runs handlers), at the last reset.
let counterBase;

serveChild(
  {
    counters: async () => {
      const { handlersCounter: now, ...counts } = await snapshotAll(environments());
      const handlersCount = now && {
        total: now.total - (counterBase?.total ?? 0),
        byCommand: Object.fromEntries(
          Object.entries(now.byCommand).map(([k, v]) => [k, v - (counterBase?.byCommand?.[k] ?? 0)]),
        ),
      };
      return {
        ...counts,
        environments: relay.gateway?.environments?.() ?? {},
        gateway: gatewayCounts,
        handlersCounter: handlersCount,
      };
    },
    reset: async () => {
      resetGateway();
      counterBase = await resetAll(environments());
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
});
