#!/usr/bin/env node
import { parseCli } from './cli.js';
import { runRelay } from './run.js';

const options = parseCli(
  process.argv,
  'mpc-relay',
  'The local mpc-relay: API Gateway v2 WebSocket emulator + handlers + embedded DynamoDB',
);
await runRelay('mpc-relay', options, 'start');
