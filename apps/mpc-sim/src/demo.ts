#!/usr/bin/env node
/**
 * `pnpm demo`: the original demo's "Real Interaction Example", live. Starts the local relay on a free port
 * with a throwaway data folder, connects a signer (Client1, cli `cli123`: the same library code as
 * `mpc-relay-signer`, with a throwaway key) and an mpc (Client2, `IgniterC56D`), sends the original demo's
 * PartialSig, and narrates every frame exchanged, exactly as it crosses the wire, ending with the
 * FullSig verified against the signer's public key. Exit 0 only if it verified; always cleans up.
 *
 *   node apps/mpc-sim/dist/demo.js [--url ws://HOST:PORT/STAGE] [--token T] [--timeout MS]
 *                                  [--protocol v1|v2] [--scheme single-key|musig2] [--json]
 *
 * With --url it runs against a relay that is already running (local or on AWS) instead.
 * It speaks protocol v1 on purpose, so the frames are the original demo's README byte for byte;
 * `--protocol v2` narrates the same exchange with v2's ids and acknowledgements. `--scheme musig2`
 * runs a real two-party MuSig2 (BIP-327) key setup and signature instead (protocol v2), and exits 0
 * only if schnorr.verify accepts the signature under the aggregate key; `--json` ends with one
 * JSON line: scheme, aggregatePublicKey, messageDigest, signature (and more).
 */
import { realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { normalizeArgv, onShutdownSignal } from '@mpc-relay/command-line';
import type { PeerIdentity } from '@mpc-relay/protocol';
import {
  attachCosigner,
  canonicalSigningString,
  type Delivery,
  type FullSigFields,
  Musig2KeyStore,
  musig2KeySetupProtocol,
  musig2SignProtocol,
  type ProtocolChoice,
  RelayClient,
  SessionManager,
  SingleKeyCosigner,
  verifyFullSig,
  verifySchnorr,
} from '@mpc-relay/signer';
import { Command, InvalidArgumentError, Option } from 'commander';
import { protocolArg } from './args.js';

const CLI_ID = 'cli123';
const MPC_ID = 'IgniterC56D';
const PARTIAL_SIG = {
  accountHash: 'accountHash',
  teamId: 'teamId',
  transactionId: 'transactionId',
  partialSig: 'partialSig',
};

export interface DemoOptions {
  /** An already running relay; otherwise a local one is started. */
  url?: string;
  token?: string;
  /** Default `v1`: the frames of the original demo's example, exactly. */
  protocol?: ProtocolChoice;
  timeoutMs?: number;
  out?: (line: string) => void;
  /** Aborting stops the demo early (Ctrl-C); it still cleans up. */
  signal?: AbortSignal;
  /** `single-key` (default: the original demo's example) or `musig2`. */
  scheme?: 'single-key' | 'musig2';
  /** End with one JSON line (the signature and what verifies it). */
  json?: boolean;
}

interface LocalRelay {
  url: string;
  close(): Promise<void>;
}

async function startLocalRelay(dataDir: string, log: (line: string) => void): Promise<LocalRelay> {
  // The AWS SDK warns about Node 20 on every client it builds; the demo is about the frames.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { startRelay } = await import('@mpc-relay/relay');
  return startRelay({ port: 0, dataDir, log });
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      onAbort = () => reject(new Error('interrupted'));
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  ]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}

/** Runs the demo; resolves true only if the FullSig verified. Never throws; always cleans up. */
/** Connects `client` and waits for its connection id, within `timeoutMs`. */
function connectedWithin(client: RelayClient, timeoutMs: number, signal?: AbortSignal) {
  return withTimeout(
    Promise.all([
      client.connect(),
      new Promise<void>((resolve) => client.once('connectionId', () => resolve())),
    ]),
    timeoutMs,
    `${client.peer.type} ${client.peer.id} to connect`,
    signal,
  );
}

export async function runDemo(options: DemoOptions = {}): Promise<boolean> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const timeoutMs = options.timeoutMs ?? 20_000;
  const token = options.token ?? 'Allow';
  const protocol = options.protocol ?? 'v1';
  const block = (text: string) => {
    for (const line of text.split('\n')) out(line);
  };
  let dataDir: string | undefined;
  let relay: LocalRelay | undefined;
  /** --json: printed after everything else (relay log lines included), as the very last line. */
  let jsonLine: string | undefined;
  const setJson = (value: unknown) => {
    if (options.json) jsonLine = JSON.stringify(value);
  };
  const clients: RelayClient[] = [];
  try {
    out('🛰️  mpc-relay demo: the original demo\'s "Real Interaction Example", live');
    out(
      protocol === 'v1'
        ? '   v1 protocol: the exact frames of the original demo (--protocol v2 shows the same with acknowledgements)'
        : '   protocol v2: the v1 frames plus message ids, ack results and acks',
    );
    out('');
    let url = options.url;
    if (!url) {
      dataDir = await mkdtemp(join(tmpdir(), 'mpc-relay-demo-'));
      out(`🚀 Starting the local relay (throwaway data folder ${dataDir})`);
      relay = await withTimeout(
        startLocalRelay(dataDir, (line) => out(`   · relay: ${line}`)),
        timeoutMs,
        'the local relay to start',
        options.signal,
      );
      url = relay.url;
      out(`   relay listening on ${url}`);
    } else {
      out(`🌐 Using the relay at ${url}`);
    }
    out('');

    if (options.scheme === 'musig2') {
      if (!dataDir) dataDir = await mkdtemp(join(tmpdir(), 'mpc-relay-demo-'));
      return await musig2Demo({
        url,
        token,
        timeoutMs,
        out,
        block,
        clients,
        dataDir,
        setJson,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }

    // Client1: the signer (cli), as `go run wsClient.go` in the original demo.
    const cosigner = SingleKeyCosigner.generate();
    const connectAs = (peer: PeerIdentity) => {
      const client = new RelayClient({
        url,
        peer,
        token,
        protocol,
        reconnect: { retryInitialConnect: false },
      });
      clients.push(client);
      return client;
    };
    const signer = connectAs({ type: 'cli', id: CLI_ID });
    // Client2: the mpc, as the original demo's wscat session.
    const mpc = connectAs({ type: 'mpc', id: MPC_ID });

    /** Data frames (sends, deliveries) as pretty blocks; control frames on one line. */
    const narrate = (name: string, client: RelayClient, sendsHeading: string, receivesHeading: string) => {
      client.on('frameOut', (text) => {
        if (text.includes('"sendServer"')) {
          out(sendsHeading);
          block(pretty(text));
          out('');
        } else out(`   ➡️  ${name} sends ${text}`);
      });
      client.on('frameIn', (text) => {
        if (text.includes('"operationType"')) {
          out(receivesHeading);
          block(pretty(text));
        } else out(`   ⬅️  ${name} receives ${text}`);
      });
      client.on('relayError', (report) =>
        out(`   ⚠️  ${name} got a relay error${report.code ? ` ${report.code}` : ''}: ${report.message}`),
      );
      client.on('badFrame', (report) =>
        out(`   ⚠️  ${name} got a bad frame (${report.code}): ${report.message}`),
      );
    };
    narrate('Client1', signer, '📤 Client1 auto sends:', '📥 Client1 receives:');
    narrate('Client2', mpc, '📨 Client2 sends:', '📬 Client2 receives:');
    // A delivery block ends with what the application did with it (the signer: the original demo's line).
    signer.on('message', (delivery) =>
      out(`   (signer prints) 📨 Message from ${delivery.from}: ${JSON.stringify(delivery.message)}`),
    );
    mpc.on('message', () => out(''));
    // The co-signer signs only for the demo's mpc (a real one is started with --allow-mpc).
    attachCosigner(signer, cosigner, {}, { allowMpc: (mpcId) => mpcId === MPC_ID });

    const connected = (client: RelayClient) => connectedWithin(client, timeoutMs, options.signal);

    out(`🔌 Client1 connects as \`cli\` server (the signer; like the original demo's wsClient.go)`);
    out(`   ${signer.displayUrl}   Authorization: ${token === 'Allow' ? 'Allow' : '***'}`);
    out(`   🔑 signer public key ${cosigner.publicKeyHex} (${cosigner.name}, throwaway key)`);
    out(`   🛡️  signs only for ${MPC_ID} (its allow-list)`);
    await connected(signer);
    out('');
    out(
      `🔌 Client2 connects as \`mpc\` server (like wscat -c '...?type=mpc&mpcId=${MPC_ID}' -H "Authorization: Allow")`,
    );
    out(`   ${mpc.displayUrl}`);
    await connected(mpc);
    out('');

    const answer = new Promise<Delivery>((resolve) => {
      mpc.on('message', (delivery) => {
        if (delivery.operationType === 'FullSig' || delivery.operationType === 'SignRefused')
          resolve(delivery);
      });
    });
    await mpc.send({ operationType: 'PartialSig', cliId: CLI_ID, message: PARTIAL_SIG });
    const delivery = await withTimeout(answer, timeoutMs, 'the FullSig', options.signal);
    if (delivery.operationType !== 'FullSig') {
      out(`❌ The signer refused: ${JSON.stringify(delivery.message)}`);
      return false;
    }
    const fullSig = delivery.message as FullSigFields;
    const verdict = verifyFullSig(PARTIAL_SIG, fullSig, cosigner.publicKeyHex);
    if (!verdict.ok) {
      out(`❌ The FullSig does NOT verify: ${verdict.reason}`);
      return false;
    }
    out("✅ FullSig verified: a recoverable ECDSA (secp256k1) signature by the signer's key");
    out(`   public key   ${verdict.publicKeyHex}`);
    out(`   signed       sha256(${JSON.stringify(canonicalSigningString(PARTIAL_SIG))})`);
    out(`   r, s, v      ${fullSig.signatureR}, ${fullSig.signatureS}, ${fullSig.signatureV}`);
    setJson({
      scheme: 'single-key ECDSA (secp256k1)',
      publicKey: verdict.publicKeyHex,
      signedText: canonicalSigningString(PARTIAL_SIG),
      signatureR: fullSig.signatureR,
      signatureS: fullSig.signatureS,
      signatureV: fullSig.signatureV,
      verified: true,
    });
    return true;
  } catch (error) {
    out(`❌ Demo failed: ${(error as Error).message}`);
    return false;
  } finally {
    for (const client of clients) await client.close('demo finished').catch(() => {});
    if (relay) await relay.close().catch(() => {});
    if (dataDir) await rm(dataDir, { recursive: true, force: true }).catch(() => {});
    if (jsonLine !== undefined) out(jsonLine);
  }
}

interface Musig2DemoContext {
  url: string;
  token: string;
  timeoutMs: number;
  out: (line: string) => void;
  block: (text: string) => void;
  clients: RelayClient[];
  dataDir: string;
  setJson: (value: unknown) => void;
  signal?: AbortSignal;
}

/** MuSig2: key setup, then one signature, every frame narrated; true only if schnorr.verify accepts it. */
async function musig2Demo(context: Musig2DemoContext): Promise<boolean> {
  const { url, token, timeoutMs, out, block, clients } = context;
  const signer = new RelayClient({
    url,
    peer: { type: 'cli', id: CLI_ID },
    token,
    reconnect: { retryInitialConnect: false },
  });
  const mpc = new RelayClient({
    url,
    peer: { type: 'mpc', id: MPC_ID },
    token,
    reconnect: { retryInitialConnect: false },
  });
  clients.push(signer, mpc);
  const narrate = (name: string, client: RelayClient) => {
    client.on('frameOut', (text) => {
      if (text.includes('"sendServer"')) {
        out(`📤 ${name} sends:`);
        block(pretty(text));
      } else out(`   ➡️  ${name} sends ${text}`);
    });
    client.on('frameIn', (text) => {
      if (text.includes('"operationType"')) {
        out(`📥 ${name} receives:`);
        block(pretty(text));
      } else out(`   ⬅️  ${name} receives ${text}`);
    });
    client.on('relayError', (report) =>
      out(`   ⚠️  ${name} got a relay error ${report.code ?? ''}: ${report.message}`),
    );
  };
  narrate('Client1 (cli, co-signer)', signer);
  narrate('Client2 (mpc)', mpc);
  const signerStore = await new Musig2KeyStore({
    dir: join(context.dataDir, 'cli-keys'),
    self: signer.peer,
  }).open();
  const mpcStore = await new Musig2KeyStore({
    dir: join(context.dataDir, 'mpc-keys'),
    self: mpc.peer,
  }).open();
  const signerSessions = new SessionManager(signer, { allowPeer: (id) => id === MPC_ID });
  signerSessions.register(musig2KeySetupProtocol(signerStore)).register(musig2SignProtocol(signerStore));
  signerSessions.on('aborted', (info) =>
    out(`   ⛔ co-signer aborted ${info.sessionId}: ${info.code} ${info.reason}`),
  );
  const mpcSessions = new SessionManager(mpc);
  const connected = (client: RelayClient) => connectedWithin(client, timeoutMs, context.signal);
  out('🔐 MuSig2 (BIP-327) between two parties: the aggregate key never exists in one place');
  out(
    `🔌 Client1 connects as cli ${CLI_ID} (the co-signer; signs only for ${MPC_ID}), Client2 as mpc ${MPC_ID}`,
  );
  await connected(signer);
  await connected(mpc);
  out('');
  out('① Key setup: each party sends its individual public key; both derive the aggregate key');
  const pair = await withTimeout(
    mpcSessions.start(musig2KeySetupProtocol(mpcStore), { peerId: CLI_ID, params: {} }).result,
    timeoutMs,
    'the key setup',
    context.signal,
  );
  out(`   aggregate key (x-only Taproot output key) ${pair.aggregatePublicKey}`);
  out(`   internal key (KeyAgg, before the BIP-86 tweak) ${pair.internalKey}`);
  out(`   Taproot address ${pair.taprootAddress}`);
  out('');
  const request = { accountHash: 'accountHash', teamId: 'teamId', transactionId: 'transactionId' };
  out(
    '② Signing session: SignRequest → MuSig2Nonce (the co-signer’s fresh nonce) → PartialSig (the mpc’s nonce and partial signature) → FullSig',
  );
  const result = await withTimeout(
    mpcSessions.start(musig2SignProtocol(mpcStore), { peerId: CLI_ID, params: request }).result,
    timeoutMs,
    'the FullSig',
    context.signal,
  );
  const verified = verifySchnorr(
    Buffer.from(result.signature, 'hex'),
    Buffer.from(result.messageDigest, 'hex'),
    Buffer.from(result.aggregatePublicKey, 'hex'),
  );
  signerSessions.close();
  mpcSessions.close();
  if (!verified) {
    out('❌ schnorr.verify refused the signature');
    return false;
  }
  out('');
  out('✅ schnorr.verify (BIP-340) accepts the signature under the aggregate key');
  out(`   aggregate key  ${result.aggregatePublicKey}`);
  out(
    `   digest         ${result.messageDigest} = taggedHash("mpc-relay/musig2/v1", ${JSON.stringify(JSON.stringify([request.accountHash, request.teamId, request.transactionId]))})`,
  );
  out(`   signature      ${result.signature} (signatureR || signatureS)`);
  context.setJson({
    scheme: 'BIP-340/MuSig2',
    aggregatePublicKey: result.aggregatePublicKey,
    internalKey: pair.internalKey,
    taprootAddress: pair.taprootAddress,
    messageDigest: result.messageDigest,
    signature: result.signature,
    transactionId: result.transactionId,
    sessionId: result.sessionId,
    verified: true,
  });
  return true;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

const entry = process.argv[1];
const isMain = entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href;
if (isMain) {
  const program = new Command('mpc-relay-demo')
    .description('The original demo\'s "Real Interaction Example" on a local relay, narrated frame by frame.')
    .addOption(new Option('--url <url>', 'use this running relay instead of starting a local one'))
    .addOption(new Option('--token <token>', "token for the relay's authorizer").default('Allow'))
    .addOption(
      new Option('--protocol <protocol>', 'v1 (the v1 frames, exactly) or v2 (with acknowledgements)')
        .choices(['v1', 'v2'])
        .argParser(protocolArg)
        .default('v1'),
    )
    .addOption(
      new Option('--timeout <ms>', 'how long to wait for each step')
        .argParser(positiveInteger)
        .default(20_000),
    )
    .addOption(
      new Option(
        '--scheme <scheme>',
        'single-key (the original example, ECDSA) or musig2 (BIP-327 two-party Schnorr)',
      )
        .choices(['single-key', 'musig2'])
        .default('single-key'),
    )
    .option('--json', 'end with one JSON line: the signature and what verifies it')
    .action(
      async (options: {
        url?: string;
        token: string;
        protocol: ProtocolChoice;
        timeout: number;
        scheme: 'single-key' | 'musig2';
        json?: boolean;
      }) => {
        const controller = new AbortController();
        onShutdownSignal({
          stop: () => controller.abort(),
          force: () => process.exit(130),
        });
        const ok = await runDemo({
          signal: controller.signal,
          ...(options.url ? { url: options.url } : {}),
          token: options.token,
          protocol: options.scheme === 'musig2' ? 'v2' : options.protocol,
          timeoutMs: options.timeout,
          scheme: options.scheme,
          json: options.json ?? false,
        });
        process.exitCode = ok ? 0 : 1;
        setTimeout(() => process.exit(ok ? 0 : 1), 50).unref();
      },
    );
  await program.parseAsync(normalizeArgv(process.argv));
}
