#!/usr/bin/env node
import { normalizeArgv } from '@mpc-relay/command-line';
import {
  generateKeyFile,
  loadSigningKey,
  type ProtocolChoice,
  parseProtocolChoice,
  SIGNER_KEY_ENV,
  SingleKeyCosigner,
} from '@mpc-relay/signer';
/**
 * mpc-relay-signer: the co-signer command (the original demo's Go client, in TypeScript).
 *
 *   mpc-relay-signer --url URL --cli-id ID [--token T] [--key-file F] [--protocol v2|v1] [--json]
 *   mpc-relay-signer keygen FILE
 *
 * Exit codes: 0 after SIGINT/SIGTERM, 1 when the relay refuses the handshake (401/403) or cannot be
 * reached (at once on the first connection; after --max-retries consecutive failures later),
 * 2 for bad usage or configuration (URL, id, key).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXIT_USAGE, runSigner } from './run.js';

const output = {
  out: (line: string) => process.stdout.write(`${line}\n`),
  err: (line: string) => process.stderr.write(`${line}\n`),
};

function fail(message: string, code = EXIT_USAGE): never {
  output.err(`mpc-relay-signer: ${message}`);
  process.exit(code);
}

function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError('must be a non-negative integer');
  return parsed;
}

/** `--protocol` / MPC_RELAY_PROTOCOL: v2 or v1 (`seed`, v1's former name, still works and says so). */
function protocolArg(value: string): ProtocolChoice {
  try {
    return parseProtocolChoice(value, output.err);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

interface MainOptions {
  url?: string;
  cliId?: string;
  token: string;
  tokenIn: 'header' | 'query' | 'both';
  protocol: 'v2' | 'v1';
  keyFile?: string;
  ephemeralKey?: boolean;
  json?: boolean;
  maxRetries: number;
  reconnectDelay: number;
  reconnectMaxDelay: number;
}

const program = new Command('mpc-relay-signer')
  // Bad usage exits 2, like every other usage error of this command (commander's own is 1).
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE))
  .description(
    'Co-signer client of mpc-relay: connects as a cli, prints every message, answers each PartialSig with a FullSig.',
  )
  .addOption(new Option('--url <url>', 'relay URL, ws://HOST:PORT/STAGE or wss://...').env('MPC_RELAY_URL'))
  .addOption(new Option('--cli-id <id>', "this co-signer's cli id").env('MPC_RELAY_CLI_ID'))
  .addOption(
    new Option('--token <token>', "token for the relay's authorizer").env('MPC_RELAY_TOKEN').default('Allow'),
  )
  .addOption(
    new Option('--token-in <where>', 'where the token goes')
      .choices(['header', 'query', 'both'])
      .env('MPC_RELAY_TOKEN_IN')
      .default('header'),
  )
  .addOption(
    new Option('--protocol <protocol>', 'v2 (acks, redelivery; falls back to v1) or v1 (v1-only relays)')
      .choices(['v2', 'v1'])
      .argParser(protocolArg)
      .env('MPC_RELAY_PROTOCOL')
      .default('v2'),
  )
  .addOption(
    new Option('--key-file <path>', `private key file (64 hex characters); or set ${SIGNER_KEY_ENV}`).env(
      'MPC_RELAY_KEY_FILE',
    ),
  )
  .option('--ephemeral-key', 'sign with a throwaway key generated for this run (demos only)')
  .option('--json', 'print one JSON line per event')
  .addOption(
    new Option('--max-retries <n>', 'consecutive failed reconnects before giving up (0: never)')
      .argParser(nonNegativeInteger)
      .env('MPC_RELAY_MAX_RETRIES')
      .default(20),
  )
  .addOption(
    new Option('--reconnect-delay <ms>', 'first reconnect delay ceiling (full jitter)')
      .argParser(nonNegativeInteger)
      .default(500),
  )
  .addOption(
    new Option('--reconnect-max-delay <ms>', 'largest reconnect delay')
      .argParser(nonNegativeInteger)
      .default(30_000),
  )
  .showHelpAfterError()
  .action(async (options: MainOptions) => {
    if (!options.url) fail('missing --url (or MPC_RELAY_URL)');
    if (!options.cliId) fail('missing --cli-id (or MPC_RELAY_CLI_ID)');
    let backend: SingleKeyCosigner;
    let keySource: string;
    let warnings: string[] = [];
    if (options.ephemeralKey && !options.keyFile && !process.env[SIGNER_KEY_ENV]) {
      backend = SingleKeyCosigner.generate();
      keySource = 'a throwaway key generated for this run';
    } else {
      try {
        const loaded = await loadSigningKey({ keyFile: options.keyFile });
        backend = loaded.cosigner;
        keySource = loaded.source;
        warnings = loaded.warnings;
      } catch (error) {
        fail(`${(error as Error).message} (or --ephemeral-key for a demo)`);
      }
    }
    let resolveStop: (signal: string) => void = () => {};
    const stop = new Promise<string>((resolve) => {
      resolveStop = resolve;
    });
    process.once('SIGINT', () => resolveStop('SIGINT'));
    process.once('SIGTERM', () => resolveStop('SIGTERM'));
    const code = await runSigner(
      {
        url: options.url,
        cliId: options.cliId,
        token: options.token,
        tokenIn: options.tokenIn,
        protocol: options.protocol,
        json: options.json ?? false,
        maxRetries: options.maxRetries,
        backend,
        keySource,
        warnings,
        initialDelayMs: options.reconnectDelay,
        maxDelayMs: options.reconnectMaxDelay,
      },
      output,
      stop,
    );
    process.exitCode = code;
    // Let stdout drain, then leave even if something still holds the event loop.
    setTimeout(() => process.exit(code), 50).unref();
  });

program
  .command('keygen')
  .description('write a new random secp256k1 private key to FILE (mode 0600, never overwrites)')
  .argument('<file>', 'where to write the key')
  .action(async (file: string) => {
    try {
      const { publicKeyHex } = await generateKeyFile(file);
      output.out(`🔑 Wrote a new private key to ${file}`);
      output.out(`Public key: ${publicKeyHex}`);
    } catch (error) {
      fail((error as Error).message);
    }
  });

await program.parseAsync(normalizeArgv(process.argv));
