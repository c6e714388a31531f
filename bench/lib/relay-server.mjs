/**
 * The relay under test, in a child process of the bench: the real `startRelay` of apps/relay
 * (local gateway + handler bundles + dynalite), with outside-in instrumentation installed before
 * it loads (hooks.mjs wraps handler exports, instrument.mjs wraps http.request).
 * Options for startRelay come as JSON in BENCH_RELAY_OPTIONS.
 */
import { register } from 'node:module';
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
const relay = await startRelay({ host: '127.0.0.1', port: 0, ...options });

serveChild(
  {
    counters: () => snapshot(),
    reset: () => {
      reset();
      return true;
    },
    profileStart: ({ intervalUs }) => startProfile(intervalUs),
    profileStop: () => stopProfile(categorizeRelayFrame),
  },
  () => relay.close(),
);
process.send({
  type: 'ready',
  url: relay.url,
  managementEndpoint: relay.managementEndpoint,
  dataDir: relay.dataDir,
});
