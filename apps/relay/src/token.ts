#!/usr/bin/env node
import { UserError } from './errors.js';
import { runTokenCommand } from './token-command.js';

// `pnpm run token --type cli --id cli123 --ttl 1h [--data-dir D] [--teams a,b] [--peers m1,m2]`: the token alone on
// the last line of stdout; what was done on stderr.
try {
  process.stdout.write(`${runTokenCommand(process.argv)}\n`);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`mpc-relay-token: ${error instanceof UserError ? message : `failed: ${message}`}\n`);
  process.exit(1);
}
