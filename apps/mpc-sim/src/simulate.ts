/**
 * The mpc simulator: connects as an mpc, sends PartialSig requests to a cli as in the original demo, waits
 * for each FullSig, verifies its signature, and measures the round trip.
 */
import { randomBytes } from 'node:crypto';
import {
  FULL_SIG_OPERATION,
  type FullSigFields,
  normalizePublicKeyHex,
  PARTIAL_SIG_OPERATION,
  type ProtocolChoice,
  RelayClient,
  type RelayClientOptions,
  type RelayErrorReport,
  recoverFullSigSigner,
  SIGN_REFUSED_OPERATION,
  type SignedFields,
  type StateChange,
  verifyFullSig,
} from '@mpc-relay/signer';

export interface SimulationOptions {
  url: string;
  mpcId: string;
  cliId: string;
  token?: string;
  tokenIn?: RelayClientOptions['tokenIn'];
  /** Default `v2` (acks, redelivery; falls back to v1 on a relay without it). */
  protocol?: ProtocolChoice;
  /** How many PartialSigs to send. */
  count: number;
  /** Sends per second. */
  rate: number;
  /** The signer's public key (hex); without it the first FullSig's recovered key is pinned. */
  signerPublicKey?: string;
  /** How long to wait for each FullSig after sending its PartialSig, in ms. */
  timeoutMs: number;
  accountHash?: string;
  teamId?: string;
  /** Prefix of transaction ids (default: a random run id). */
  transactionPrefix?: string;
  /** Extra RelayClient options (tests). */
  client?: Partial<RelayClientOptions>;
}

export type Outcome =
  | { status: 'verified'; transactionId: string; latencyMs: number; publicKeyHex: string }
  | { status: 'invalid'; transactionId: string; latencyMs: number; reason: string }
  | { status: 'refused'; transactionId: string; latencyMs: number; code: string; reason: string }
  | { status: 'timeout'; transactionId: string };

export interface SimulationHooks {
  onState?(change: StateChange, client: RelayClient): void;
  onConnectionId?(connectionId: string): void;
  onSent?(request: SignedFields, index: number): void;
  onOutcome?(outcome: Outcome): void;
  onRelayError?(report: RelayErrorReport): void;
  /** Anything received that answers nothing we sent (unknown or repeated transaction id, other types). */
  onStray?(description: string): void;
  onFrameOut?(text: string): void;
  onFrameIn?(text: string): void;
}

export interface LatencySummary {
  min: number;
  median: number;
  p95: number;
  max: number;
}

export interface SimulationReport {
  sent: number;
  verified: number;
  refused: number;
  invalid: number;
  timedOut: number;
  strays: number;
  outcomes: Outcome[];
  latency?: LatencySummary;
  /** The key the signatures were verified against; `pinned` when it came from the first FullSig. */
  publicKeyHex?: string;
  publicKeySource: 'given' | 'pinned' | 'none';
  /** Set when the run could not happen at all (refused handshake, unreachable relay). */
  error?: Error;
  ok: boolean;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

export function summarizeLatency(values: number[]): LatencySummary | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] as number,
    median: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    max: sorted.at(-1) as number,
  };
}

/** The counts of a run's outcomes and the latency of the verified ones (every report starts with them). */
export function tally(outcomes: Outcome[]) {
  const count = (status: Outcome['status']) => outcomes.filter((o) => o.status === status).length;
  return {
    verified: count('verified'),
    refused: count('refused'),
    invalid: count('invalid'),
    timedOut: count('timeout'),
    latency: summarizeLatency(
      outcomes.filter((o) => o.status === 'verified').map((o) => (o as { latencyMs: number }).latencyMs),
    ),
  };
}

/**
 * Paces a run: yields each request's index and transaction id at `rate` per second from the start
 * (at once when 0), until `count` or until `stopped()`. A single request with a prefix uses the
 * prefix alone as its id.
 */
export async function* pacedRequests(
  options: Pick<SimulationOptions, 'count' | 'rate' | 'transactionPrefix'>,
  stopped: () => boolean,
): AsyncGenerator<{ index: number; transactionId: string }> {
  const runId = options.transactionPrefix ?? `tx-${randomBytes(4).toString('hex')}`;
  const intervalMs = options.rate > 0 ? 1000 / options.rate : 0;
  const startedAt = Date.now();
  for (let index = 0; index < options.count; index++) {
    const wait = startedAt + index * intervalMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (stopped()) return;
    const transactionId = options.count === 1 && options.transactionPrefix ? runId : `${runId}-${index + 1}`;
    yield { index, transactionId };
  }
}

interface Pending {
  request: SignedFields;
  sentAt: number;
  timer: NodeJS.Timeout;
}

function stringOf(value: unknown, field: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const found = (value as Record<string, unknown>)[field];
  return typeof found === 'string' ? found : undefined;
}

/**
 * The simulator's connection as the mpc `options.mpcId`, its state, ids, relay errors and frames
 * reported to `hooks`. A first connection that fails is not retried: the run reports it.
 */
export function simulatorClient(options: SimulationOptions, hooks: SimulationHooks): RelayClient {
  const client = new RelayClient({
    url: options.url,
    peer: { type: 'mpc', id: options.mpcId },
    token: options.token ?? 'Allow',
    tokenIn: options.tokenIn ?? 'header',
    protocol: options.protocol ?? 'v2',
    ...options.client,
    reconnect: { retryInitialConnect: false, ...options.client?.reconnect },
  });
  client.on('state', (change) => hooks.onState?.(change, client));
  client.on('connectionId', (id) => hooks.onConnectionId?.(id));
  client.on('relayError', (report) => hooks.onRelayError?.(report));
  client.on('frameOut', (text) => hooks.onFrameOut?.(text));
  client.on('frameIn', (text) => hooks.onFrameIn?.(text));
  return client;
}

export async function runMpcSimulation(
  options: SimulationOptions,
  hooks: SimulationHooks = {},
): Promise<SimulationReport> {
  const givenKey = options.signerPublicKey ? normalizePublicKeyHex(options.signerPublicKey) : undefined;
  let pinnedKey = givenKey;
  const client = simulatorClient(options, hooks);
  const pending = new Map<string, Pending>();
  const finished = new Set<string>();
  const outcomes: Outcome[] = [];
  let strays = 0;
  let sent = 0;
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });

  const settle = (outcome: Outcome) => {
    const entry = pending.get(outcome.transactionId);
    if (entry) clearTimeout(entry.timer);
    pending.delete(outcome.transactionId);
    finished.add(outcome.transactionId);
    outcomes.push(outcome);
    hooks.onOutcome?.(outcome);
    if (outcomes.length === options.count) allDone();
  };

  const stray = (description: string) => {
    strays += 1;
    hooks.onStray?.(description);
  };

  client.on('message', (delivery) => {
    const transactionId = stringOf(delivery.message, 'transactionId');
    const entry = transactionId === undefined ? undefined : pending.get(transactionId);
    if (!entry || transactionId === undefined) {
      const repeated = transactionId !== undefined && finished.has(transactionId);
      stray(
        `${repeated ? 'repeated' : 'unexpected'} ${delivery.operationType} from ${delivery.from}${transactionId ? ` for ${transactionId}` : ''}`,
      );
      return;
    }
    const latencyMs = performance.now() - entry.sentAt;
    if (delivery.operationType === SIGN_REFUSED_OPERATION) {
      settle({
        status: 'refused',
        transactionId,
        latencyMs,
        code: stringOf(delivery.message, 'code') ?? '?',
        reason: stringOf(delivery.message, 'reason') ?? '?',
      });
      return;
    }
    if (delivery.operationType !== FULL_SIG_OPERATION) {
      stray(`unexpected ${delivery.operationType} from ${delivery.from} for ${transactionId}`);
      return;
    }
    const fullSig = delivery.message as FullSigFields;
    const result = pinnedKey
      ? verifyFullSig(entry.request, fullSig, pinnedKey)
      : recoverFullSigSigner(entry.request, fullSig);
    if (!result.ok) {
      settle({ status: 'invalid', transactionId, latencyMs, reason: result.reason });
      return;
    }
    pinnedKey = result.publicKeyHex;
    settle({ status: 'verified', transactionId, latencyMs, publicKeyHex: result.publicKeyHex });
  });

  const report = (error?: Error): SimulationReport => {
    const { latency, ...counts } = tally(outcomes);
    return {
      sent,
      ...counts,
      strays,
      outcomes,
      ...(latency ? { latency } : {}),
      ...(pinnedKey ? { publicKeyHex: pinnedKey } : {}),
      publicKeySource: givenKey ? 'given' : pinnedKey ? 'pinned' : 'none',
      ...(error ? { error } : {}),
      ok: !error && counts.verified === options.count && options.count > 0,
    };
  };

  try {
    await client.connect();
  } catch (error) {
    await client.close();
    return report(error as Error);
  }
  const terminal = new Promise<Error>((resolve) => {
    client.onError((error) => {
      if (client.terminalError === error) resolve(error);
    });
  });

  const sending = (async () => {
    for await (const { index, transactionId } of pacedRequests(options, () => client.state === 'closed')) {
      const request: SignedFields = {
        accountHash: options.accountHash ?? 'accountHash',
        teamId: options.teamId ?? 'teamId',
        transactionId,
        partialSig: `0x${randomBytes(32).toString('hex')}`,
      };
      const timer = setTimeout(
        () => settle({ status: 'timeout', transactionId: request.transactionId }),
        options.timeoutMs,
      );
      pending.set(request.transactionId, {
        request,
        sentAt: performance.now(),
        timer,
      });
      sent += 1;
      hooks.onSent?.(request, index);
      client
        .send({ operationType: PARTIAL_SIG_OPERATION, cliId: options.cliId, message: request })
        .catch(() => {});
    }
  })();

  const stopped = await Promise.race([done.then(() => undefined), terminal]);
  await sending;
  for (const transactionId of [...pending.keys()]) settle({ status: 'timeout', transactionId });
  await client.close('simulation finished');
  return report(stopped);
}
