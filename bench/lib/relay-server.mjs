/**
 * The relay under test, in a child process of the bench: the real `startRelay` of apps/relay
 * (local gateway + handler bundles + dynalite), with outside-in instrumentation installed before
 * it loads (hooks.mjs wraps handler exports, instrument.mjs wraps http.request). Its data folder
 * is a fresh temporary one, removed on close. Extra startRelay options come as JSON in
 * BENCH_RELAY_OPTIONS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serveChild } from './child-runtime.mjs';
import { install, reset, snapshot } from './instrument.mjs';
import { categorizeRelayFrame, startProfile, stopProfile } from './profile.mjs';

register('./hooks.mjs', import.meta.url);
install();

// BENCH_RELAY_MODULE: another module exporting startRelay (e.g. to compare two builds).
const relayModule = process.env.BENCH_RELAY_MODULE
  ? pathToFileURL(process.env.BENCH_RELAY_MODULE)
  : new URL('../../apps/relay/dist/index.js', import.meta.url);
const { startRelay } = await import(relayModule.href);
const options = JSON.parse(process.env.BENCH_RELAY_OPTIONS ?? '{}');
const dataDir = mkdtempSync(join(tmpdir(), 'mpc-relay-bench-'));
const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir, ...options });

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

/** The handlers' own DynamoDB request counter (process-wide, under a global symbol). */
function handlersCounter() {
  const counter = globalThis[Symbol.for('mpc-relay.dynamodb.requestCounter')];
  return counter ? { total: counter.total, byCommand: { ...counter.byCommand } } : undefined;
}
let counterBase = handlersCounter();

serveChild(
  {
    counters: () => {
      const now = handlersCounter();
      const handlersCount = now && {
        total: now.total - (counterBase?.total ?? 0),
        byCommand: Object.fromEntries(
          Object.entries(now.byCommand).map(([k, v]) => [k, v - (counterBase?.byCommand?.[k] ?? 0)]),
        ),
      };
      return { ...snapshot(), gateway: gatewayCounts, handlersCounter: handlersCount };
    },
    reset: () => {
      reset();
      resetGateway();
      counterBase = handlersCounter();
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
  dataDir: relay.dataDir,
});
