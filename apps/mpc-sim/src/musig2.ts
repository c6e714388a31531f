/**
 * The mpc side of MuSig2: a key setup with the co-signer when this mpc has no pair with it yet,
 * then one signing session per request, each signature checked with BIP-340 (schnorr.verify)
 * under the pair's aggregate key.
 */
import {
  type BitcoinNetwork,
  Musig2KeyStore,
  musig2KeySetupProtocol,
  musig2SignProtocol,
  type PairSummary,
  SessionAbortedError,
  SessionManager,
  type SignResult,
  verifySchnorr,
} from '@mpc-relay/signer';
import type { Outcome, SimulationHooks, SimulationOptions, SimulationReport } from './simulate.js';
import { pacedRequests, simulatorClient, tally } from './simulate.js';

const hexToBytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

export interface Musig2SimulationOptions extends SimulationOptions {
  keyDir: string;
  /** Ask for sealed payloads at key setup. */
  seal?: boolean;
  network?: BitcoinNetwork;
  /** Run a new key setup even if a pair exists (replacing it). */
  rekey?: boolean;
}

export interface Musig2Hooks extends SimulationHooks {
  onKeySetup?(pair: PairSummary, fresh: boolean): void;
  onSigned?(result: SignResult): void;
  /** Every session-level event, for narration. */
  onSession?(line: string): void;
}

export async function runMusig2Simulation(
  options: Musig2SimulationOptions,
  hooks: Musig2Hooks = {},
): Promise<SimulationReport & { pair?: PairSummary; results: SignResult[] }> {
  const client = simulatorClient(options, hooks);
  const store = await new Musig2KeyStore({
    dir: options.keyDir,
    self: { type: 'mpc', id: options.mpcId },
    network: options.network ?? 'mainnet',
  }).open();
  const sessions = new SessionManager(client, {
    timeoutMs: options.timeoutMs,
    sealFor: (cliId) => store.cached(cliId)?.seal,
  });
  sessions.on('aborted', (info) =>
    hooks.onSession?.(
      `⛔ session ${info.sessionId} aborted by ${info.by === 'self' ? 'us' : info.peerId}: ${info.code} ${info.reason}`,
    ),
  );
  const outcomes: Outcome[] = [];
  const results: SignResult[] = [];
  let pair: PairSummary | undefined;
  let sent = 0;
  const finish = (error?: Error) => {
    const { latency, ...counts } = tally(outcomes);
    return {
      sent,
      ...counts,
      strays: 0,
      outcomes,
      ...(latency ? { latency } : {}),
      ...(pair ? { publicKeyHex: pair.aggregatePublicKey, pair } : {}),
      publicKeySource: pair ? ('given' as const) : ('none' as const),
      ...(error ? { error } : {}),
      ok: !error && counts.verified === options.count && options.count > 0,
      results,
    };
  };
  try {
    await client.connect();
  } catch (error) {
    sessions.close();
    await client.close();
    return finish(error as Error);
  }
  try {
    const existing = options.rekey ? undefined : await store.get(options.cliId);
    if (existing) {
      pair = existing.describe();
      hooks.onKeySetup?.(pair, false);
    } else {
      pair = await sessions.start(musig2KeySetupProtocol(store), {
        peerId: options.cliId,
        params: { seal: options.seal ?? false, replace: options.rekey ?? false },
      }).result;
      hooks.onKeySetup?.(pair, true);
    }
  } catch (error) {
    sessions.close();
    await client.close('simulation finished');
    return finish(new Error(`key setup failed: ${(error as Error).message}`));
  }
  const sign = musig2SignProtocol(store);
  const running: Promise<void>[] = [];
  for await (const { index, transactionId } of pacedRequests(options, () => client.state === 'closed')) {
    const params = {
      accountHash: options.accountHash ?? 'accountHash',
      teamId: options.teamId ?? 'teamId',
      transactionId,
    };
    sent += 1;
    hooks.onSent?.({ ...params, partialSig: '' }, index);
    const began = performance.now();
    running.push(
      sessions
        .start(sign, { peerId: options.cliId, params })
        .result.then((result) => {
          const latencyMs = performance.now() - began;
          // Checked again here, independently of the protocol's own check.
          const ok = verifySchnorr(
            hexToBytes(result.signature),
            hexToBytes(result.messageDigest),
            hexToBytes(result.aggregatePublicKey),
          );
          results.push(result);
          hooks.onSigned?.(result);
          const outcome: Outcome = ok
            ? {
                status: 'verified',
                transactionId: params.transactionId,
                latencyMs,
                publicKeyHex: result.aggregatePublicKey,
              }
            : {
                status: 'invalid',
                transactionId: params.transactionId,
                latencyMs,
                reason: 'schnorr.verify refused the signature',
              };
          outcomes.push(outcome);
          hooks.onOutcome?.(outcome);
        })
        .catch((error: Error) => {
          const latencyMs = performance.now() - began;
          const outcome: Outcome =
            error instanceof SessionAbortedError
              ? error.code === 'TIMEOUT'
                ? { status: 'timeout', transactionId: params.transactionId }
                : {
                    status: 'refused',
                    transactionId: params.transactionId,
                    latencyMs,
                    code: error.code,
                    reason: error.reason,
                  }
              : { status: 'invalid', transactionId: params.transactionId, latencyMs, reason: error.message };
          outcomes.push(outcome);
          hooks.onOutcome?.(outcome);
        }),
    );
  }
  await Promise.all(running);
  sessions.close();
  await client.close('simulation finished');
  return finish();
}
