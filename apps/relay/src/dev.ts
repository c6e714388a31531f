#!/usr/bin/env node
import { parseCli } from './cli.js';
import { watchHandlers } from './dev-watch.js';
import { runRelay } from './run.js';

const options = parseCli(
  process.argv,
  'mpc-relay-dev',
  'The local mpc-relay in watch mode: edits to the handlers reload without dropping connections',
);
await runRelay('mpc-relay-dev', options, 'dev, watching packages/handlers/src', (relay) => {
  const watcher = watchHandlers({ gateway: relay.gateway, log: (line) => process.stdout.write(`${line}\n`) });
  return async () => watcher.close();
});
