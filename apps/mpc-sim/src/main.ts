#!/usr/bin/env node
/**
 * mpc-relay-mpc-sim: plays the mpc side of the original demo's "Real Interaction Example".
 *
 *   mpc-relay-mpc-sim --url URL --mpc-id ID --cli-id ID [--token T] [--count N] [--rate R]
 *                     [--signer-pubkey HEX] [--timeout MS] [--protocol v2|v1] [--json]
 *                     [--scheme musig2 --key-dir DIR [--seal] [--rekey]]
 *
 * Exit codes: 0 only if every FullSig arrived and verified; 1 otherwise (refused, invalid, timed
 * out, relay refused or unreachable); 2 for bad usage.
 */
import { addRelayAccessOptions, normalizeArgv } from '@mpc-relay/command-line';
import { Command, InvalidArgumentError, Option } from 'commander';
import { protocolArg } from './args.js';
import { runMusig2Simulation } from './musig2.js';
import { type Outcome, runMpcSimulation, type SimulationReport } from './simulate.js';

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

function positiveNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive number');
  return parsed;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

function describeOutcome(outcome: Outcome): string {
  switch (outcome.status) {
    case 'verified':
      return `✅ FullSig for ${outcome.transactionId} verified (signer ${outcome.publicKeyHex}) in ${ms(outcome.latencyMs)}`;
    case 'invalid':
      return `❌ FullSig for ${outcome.transactionId} does NOT verify: ${outcome.reason}`;
    case 'refused':
      return `⛔ SignRefused for ${outcome.transactionId}: ${outcome.code} ${outcome.reason}`;
    case 'timeout':
      return `⏱️  No answer for ${outcome.transactionId}`;
  }
}

function summaryLine(report: SimulationReport, count: number): string {
  const parts = [
    `${report.verified}/${count} verified`,
    `${report.refused} refused`,
    `${report.invalid} invalid`,
    `${report.timedOut} unanswered`,
  ];
  if (report.strays > 0) parts.push(`${report.strays} stray`);
  const latency = report.latency
    ? `; latency min ${ms(report.latency.min)}, median ${ms(report.latency.median)}, p95 ${ms(report.latency.p95)}, max ${ms(report.latency.max)}`
    : '';
  return `${report.ok ? '🎉' : '💥'} Summary: ${parts.join(', ')}${latency}`;
}

interface MainOptions {
  url?: string;
  mpcId?: string;
  cliId?: string;
  token: string;
  tokenIn: 'header' | 'query' | 'both';
  protocol: 'v2' | 'v1';
  count: number;
  rate: number;
  signerPubkey?: string;
  timeout: number;
  teamId: string;
  accountHash: string;
  json?: boolean;
  scheme: 'single-key' | 'musig2';
  keyDir?: string;
  seal?: boolean;
  rekey?: boolean;
  network: 'mainnet' | 'testnet';
}

const program = addRelayAccessOptions(
  new Command('mpc-relay-mpc-sim')
    .description(
      'mpc simulator: sends PartialSig requests to a cli through the relay and verifies each FullSig.',
    )
    .addOption(new Option('--url <url>', 'relay URL, ws://HOST:PORT/STAGE or wss://...').env('MPC_RELAY_URL'))
    .addOption(new Option('--mpc-id <id>', "this mpc's id").env('MPC_RELAY_MPC_ID'))
    .addOption(new Option('--cli-id <id>', 'the co-signer (cli) to send to').env('MPC_RELAY_CLI_ID')),
  protocolArg,
)
  .addOption(new Option('--count <n>', 'how many PartialSigs to send').argParser(positiveInteger).default(1))
  .addOption(new Option('--rate <r>', 'PartialSigs per second').argParser(positiveNumber).default(10))
  .addOption(
    new Option('--signer-pubkey <hex>', "the signer's public key (printed by mpc-relay-signer at start)").env(
      'MPC_RELAY_SIGNER_PUBKEY',
    ),
  )
  .addOption(
    new Option('--timeout <ms>', 'how long to wait for each FullSig')
      .argParser(positiveInteger)
      .default(10_000),
  )
  .option('--team-id <id>', 'teamId of the requests', 'teamId')
  .option('--account-hash <hash>', 'accountHash of the requests', 'accountHash')
  .option('--json', 'print one JSON line per event')
  .addOption(
    new Option(
      '--scheme <scheme>',
      'single-key (verify ECDSA FullSigs) or musig2 (key setup + BIP-327 signing sessions)',
    )
      .choices(['single-key', 'musig2'])
      .env('MPC_RELAY_SCHEME')
      .default('single-key'),
  )
  .addOption(
    new Option('--key-dir <dir>', 'musig2: folder of this mpc’s MuSig2 pairs').env('MPC_RELAY_KEY_DIR'),
  )
  .option('--seal', 'musig2: ask for sealed payloads at key setup')
  .option('--rekey', 'musig2: run a new key setup even if a pair exists')
  .addOption(
    new Option('--network <network>', 'musig2: Taproot address network')
      .choices(['mainnet', 'testnet'])
      .default('mainnet'),
  )
  .showHelpAfterError()
  .action(async (options: MainOptions) => {
    const usage = (message: string) => {
      err(`mpc-relay-mpc-sim: ${message}`);
      process.exit(2);
    };
    if (!options.url) return usage('missing --url (or MPC_RELAY_URL)');
    if (!options.mpcId) return usage('missing --mpc-id (or MPC_RELAY_MPC_ID)');
    if (!options.cliId) return usage('missing --cli-id (or MPC_RELAY_CLI_ID)');
    const json = options.json ?? false;
    const emit = (event: Record<string, unknown>, human: string | undefined) => {
      if (json) out(JSON.stringify({ time: new Date().toISOString(), ...event }));
      else if (human !== undefined) out(human);
    };
    const verbose = options.count <= 20;
    let report: SimulationReport;
    if (options.scheme === 'musig2' && !options.keyDir)
      return usage('missing --key-dir (or MPC_RELAY_KEY_DIR) for --scheme musig2');
    const simulate = (
      simulationOptions: Parameters<typeof runMpcSimulation>[0],
      hooks: NonNullable<Parameters<typeof runMpcSimulation>[1]>,
    ): Promise<SimulationReport> =>
      options.scheme === 'musig2'
        ? runMusig2Simulation(
            {
              ...simulationOptions,
              keyDir: options.keyDir as string,
              seal: options.seal ?? false,
              rekey: options.rekey ?? false,
              network: options.network,
            },
            {
              ...hooks,
              onSent: ({ accountHash, teamId, transactionId }) =>
                emit(
                  {
                    event: 'sent',
                    operationType: 'SignRequest',
                    to: options.cliId,
                    message: { accountHash, teamId, transactionId },
                  },
                  verbose
                    ? `📨 SignRequest → ${options.cliId}: ${JSON.stringify({ accountHash, teamId, transactionId })}`
                    : undefined,
                ),
              onKeySetup: (pair, fresh) =>
                emit(
                  { event: 'keySetup', fresh, ...pair },
                  `🔑 ${fresh ? 'MuSig2 key setup done' : 'MuSig2 pair loaded'} with ${pair.peerId}: aggregate key ${pair.aggregatePublicKey}, Taproot address ${pair.taprootAddress}${pair.sealed ? ', sealed payloads' : ''}`,
                ),
              onSigned: (result) =>
                emit(
                  {
                    event: 'signature',
                    transactionId: result.transactionId,
                    sessionId: result.sessionId,
                    aggregatePublicKey: result.aggregatePublicKey,
                    messageDigest: result.messageDigest,
                    signature: result.signature,
                  },
                  undefined,
                ),
              onSession: (line) => emit({ event: 'session', message: line }, line),
            },
          )
        : runMpcSimulation(simulationOptions, hooks);
    try {
      report = await simulate(
        {
          url: options.url,
          mpcId: options.mpcId,
          cliId: options.cliId,
          token: options.token,
          tokenIn: options.tokenIn,
          protocol: options.protocol,
          count: options.count,
          rate: options.rate,
          timeoutMs: options.timeout,
          teamId: options.teamId,
          accountHash: options.accountHash,
          ...(options.signerPubkey ? { signerPublicKey: options.signerPubkey } : {}),
        },
        {
          onState: (change, client) => {
            const human =
              change.state === 'connecting'
                ? `🔌 Connecting to ${client.displayUrl} as mpc ${options.mpcId}`
                : change.state === 'open'
                  ? client.protocol === 'v2'
                    ? '✅ Connected (protocol v2)'
                    : '✅ Connected'
                  : change.reason?.includes('protocol v2')
                    ? '↩️  The relay does not speak protocol v2: using protocol v1'
                    : change.state === 'reconnecting'
                      ? `🔁 Connection lost (${change.reason}); reconnecting in ${change.delayMs} ms`
                      : undefined;
            emit(
              {
                event: 'state',
                state: change.state,
                ...(change.state === 'open' ? { protocol: client.protocol } : {}),
                ...(change.reason ? { reason: change.reason } : {}),
              },
              human,
            );
          },
          onConnectionId: (connectionId) =>
            emit({ event: 'connectionId', connectionId }, `🆔 Connection id: ${connectionId}`),
          onSent: (request) =>
            emit(
              { event: 'sent', operationType: 'PartialSig', to: options.cliId, message: request },
              verbose ? `📨 PartialSig → ${options.cliId}: ${JSON.stringify(request)}` : undefined,
            ),
          onOutcome: (outcome) =>
            emit(
              { event: 'outcome', ...outcome },
              verbose || outcome.status !== 'verified' ? describeOutcome(outcome) : undefined,
            ),
          onRelayError: (report) =>
            emit(
              { event: 'relayError', source: report.source, code: report.code, message: report.message },
              `⚠️  Relay error${report.code ? ` ${report.code}` : ''}: ${report.message}`,
            ),
          onStray: (description) => emit({ event: 'stray', description }, `⚠️  Ignored ${description}`),
        },
      );
    } catch (error) {
      return usage((error as Error).message);
    }
    if (report.error) {
      emit(
        { event: 'error', code: (report.error as { code?: string }).code, message: report.error.message },
        undefined,
      );
      err(`mpc-relay-mpc-sim: ${report.error.message}`);
    }
    if (report.publicKeySource === 'pinned') {
      emit(
        {
          event: 'warning',
          message: 'no --signer-pubkey: verified against the key recovered from the first FullSig',
        },
        `⚠️  No --signer-pubkey given: signatures checked against the key recovered from the first FullSig (${report.publicKeyHex})`,
      );
    }
    const { outcomes: _outcomes, error: _error, ...summary } = report;
    emit({ event: 'summary', count: options.count, ...summary }, summaryLine(report, options.count));
    const code = report.ok ? 0 : 1;
    process.exitCode = code;
    setTimeout(() => process.exit(code), 50).unref();
  });

await program.parseAsync(normalizeArgv(process.argv));
