#!/usr/bin/env node
import { addRelayAccessOptions, normalizeArgv } from '@mpc-relay/command-line';
import {
  ALLOW_MPC_ENV,
  type AllowList,
  buildAllowList,
  generateKeyFile,
  loadSigningKey,
  Musig2KeyStore,
  type ProtocolChoice,
  parseAllowList,
  parseProtocolChoice,
  SIGNER_KEY_ENV,
  SingleKeyCosigner,
} from '@mpc-relay/signer';
/**
 * mpc-relay-signer: the co-signer command (the original demo's Go client, in TypeScript).
 *
 *   mpc-relay-signer --url URL --cli-id ID (--allow-mpc IDS | --allow-any-mpc) [--token T]
 *                    [--scheme single-key --key-file F | --scheme musig2 --key-dir DIR] [--protocol v2|v1] [--json]
 *   mpc-relay-signer keygen FILE
 *
 * Exit codes: 0 after SIGINT/SIGTERM, 1 when the relay refuses the handshake (401/403) or cannot be
 * reached (at once on the first connection; after --max-retries consecutive failures later),
 * 2 for bad usage or configuration (URL, id, key, no allow-list).
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
  scheme: 'single-key' | 'musig2';
  keyDir?: string;
  network: 'mainnet' | 'testnet';
  digestPolicy: 'bound' | 'any';
  allowMpc?: string;
  allowAnyMpc?: boolean;
  json?: boolean;
  maxRetries: number;
  reconnectDelay: number;
  reconnectMaxDelay: number;
}

const program = addRelayAccessOptions(
  new Command('mpc-relay-signer')
    // Bad usage exits 2, like every other usage error of this command (commander's own is 1).
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE))
    .description(
      'Co-signer client of mpc-relay: connects as a cli, prints every message, answers each PartialSig with a FullSig.',
    )
    .addOption(new Option('--url <url>', 'relay URL, ws://HOST:PORT/STAGE or wss://...').env('MPC_RELAY_URL'))
    .addOption(new Option('--cli-id <id>', "this co-signer's cli id").env('MPC_RELAY_CLI_ID')),
  protocolArg,
)
  .addOption(
    new Option('--key-file <path>', `private key file (64 hex characters); or set ${SIGNER_KEY_ENV}`).env(
      'MPC_RELAY_KEY_FILE',
    ),
  )
  .option('--ephemeral-key', 'sign with a throwaway key generated for this run (demos only)')
  .addOption(
    new Option(
      '--scheme <scheme>',
      'single-key (one secp256k1 key, ECDSA) or musig2 (BIP-327 two-party Schnorr)',
    )
      .choices(['single-key', 'musig2'])
      .env('MPC_RELAY_SCHEME')
      .default('single-key'),
  )
  .addOption(
    new Option('--key-dir <dir>', 'musig2: folder of the MuSig2 pairs (0700; one 0600 file per mpc)').env(
      'MPC_RELAY_KEY_DIR',
    ),
  )
  .addOption(
    new Option('--network <network>', 'musig2: network of the Taproot address')
      .choices(['mainnet', 'testnet'])
      .default('mainnet'),
  )
  .addOption(
    new Option(
      '--digest-policy <policy>',
      'musig2: bound (only the documented digest of the request ids) or any (any 32 bytes)',
    )
      .choices(['bound', 'any'])
      .default('bound'),
  )
  .addOption(
    new Option('--allow-mpc <ids>', 'sign only for these mpc ids (comma-separated)').env(ALLOW_MPC_ENV),
  )
  .option('--allow-any-mpc', 'sign for any mpc (without an allow-list the command refuses to start)')
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
    let allow: AllowList;
    try {
      allow = buildAllowList({
        ...(options.allowMpc === undefined ? {} : { list: parseAllowList(options.allowMpc) }),
        token: options.token,
        allowAny: options.allowAnyMpc ?? false,
      });
    } catch (error) {
      fail((error as Error).message);
    }
    let backend: SingleKeyCosigner | undefined;
    let musig2: { store: Musig2KeyStore; digestPolicy: 'bound' | 'any' } | undefined;
    let keySource = '';
    let warnings: string[] = [];
    if (options.scheme === 'musig2') {
      if (!options.keyDir) fail('missing --key-dir (or MPC_RELAY_KEY_DIR) for --scheme musig2');
      try {
        const store = await new Musig2KeyStore({
          dir: options.keyDir,
          self: { type: 'cli', id: options.cliId },
          network: options.network,
        }).open();
        musig2 = { store, digestPolicy: options.digestPolicy };
        keySource = `folder ${options.keyDir}`;
      } catch (error) {
        fail((error as Error).message);
      }
    } else if (options.ephemeralKey && !options.keyFile && !process.env[SIGNER_KEY_ENV]) {
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
        scheme: options.scheme,
        ...(backend ? { backend } : {}),
        ...(musig2 ? { musig2 } : {}),
        allow,
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
