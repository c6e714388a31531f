#!/usr/bin/env node
import { join } from 'node:path';
import { parseCli } from './cli.js';
import { watchHandlers } from './dev-watch.js';
import { runRelay } from './run.js';

const options = parseCli(
  process.argv,
  'mpc-relay-dev',
  'The local mpc-relay in watch mode: edits to the handlers reload without dropping connections',
);
// Another copy of the handlers package to watch and serve instead of the workspace's (the tests
// break and fix handler sources in a temporary copy, never in the repository).
const handlersPackage = process.env.MPC_RELAY_DEV_HANDLERS_PACKAGE;
const watched = handlersPackage ? join(handlersPackage, 'src') : 'packages/handlers/src';
await runRelay(
  'mpc-relay-dev',
  handlersPackage ? { ...options, handlersDir: join(handlersPackage, 'dist') } : options,
  `dev, watching ${watched}`,
  (relay) => {
    const watcher = watchHandlers({
      gateway: relay.gateway,
      ...(handlersPackage ? { handlersPackage } : {}),
      log: (line) => process.stdout.write(`${line}\n`),
    });
    return async () => watcher.close();
  },
);
