/**
 * SessionManager: runs signing sessions of registered protocols over one RelayClient, as many at
 * once as needed. Per session (peer id + session id): its protocol run, the round it expects next,
 * early messages held per round (one per round: the sender is the session's peer), hashes of what
 * it received (duplicates dropped), a timeout. A session ends finished or aborted, and is then
 * remembered (bounded) so that a replay is dropped and a second attempt in it is refused: a
 * session runs once, it is never resumed or retried.
 */
import { randomUUID } from 'node:crypto';
import { conversationKey, KNOWN_OPERATIONS, type KnownOperationType } from '@mpc-relay/protocol';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { RelayClient } from '../client.js';
import { TypedEmitter } from '../emitter.js';
import type { Delivery } from '../events.js';
import { type SealChannel, SealError } from '../seal.js';
import {
  type Outgoing,
  type ProtocolRun,
  type RoundInput,
  SESSION_ABORT_OPERATION,
  type SessionAbortError,
  SessionAbortedError,
  type SessionContext,
  type SessionProtocol,
  type Step,
} from './types.js';

export interface SessionManagerOptions {
  /** A session not finished this long after it started is aborted (`TIMEOUT`). Default 60 s. */
  timeoutMs?: number;
  /** Most sessions running at once; an opening beyond it is refused (`BUSY`). Default 1,000. */
  maxSessions?: number;
  /** Most early messages held per session. Default 8. */
  maxEarlyPerSession?: number;
  /**
   * A round message for a session not opened yet is held this long for its opening (which may
   * arrive later, e.g. after a redelivery), then refused (`UNKNOWN_SESSION`). Default 5 s.
   */
  orphanHoldMs?: number;
  /** Ended sessions remembered to drop replays and refuse reuse. Default 10,000. */
  rememberEnded?: number;
  /** Responder side: may this peer open sessions? A refused opening gets the abort frame (`NOT_ALLOWED`). */
  allowPeer?: (peerId: string) => boolean;
  /** The pair's sealing keys, when sealed payloads are on for it (then required both ways). */
  sealFor?: (peerId: string) => SealChannel | undefined;
}

export interface SessionInfo {
  sessionId: string;
  peerId: string;
  protocol: string;
  role: 'initiator' | 'responder';
}

export interface SessionEvents {
  started: (info: SessionInfo) => void;
  finished: (info: SessionInfo & { result: unknown }) => void;
  aborted: (info: SessionInfo & { code: string; reason: string; by: 'self' | 'peer' }) => void;
  /** A message not processed: a duplicate, or one for an ended session (answered with the abort frame when it is not a duplicate). */
  dropped: (info: { sessionId?: string; peerId: string; operationType: string; reason: string }) => void;
  /** An opening refused before any session existed (peer not allowed, busy, bad opening...). */
  refused: (info: {
    sessionId: string;
    peerId: string;
    operationType: string;
    code: string;
    reason: string;
  }) => void;
  /** A listener threw, or sending failed. */
  error: (error: Error) => void;
}

interface Live {
  info: SessionInfo;
  protocol: SessionProtocol;
  run: ProtocolRun<unknown>;
  context: SessionContext;
  controller: AbortController;
  /** The wire carries the session id (false: a v1 PartialSig keyed by its transactionId). */
  explicit: boolean;
  expect: number | undefined;
  held: Map<number, { input: RoundInput; hash: string }>;
  received: Set<string>;
  opening: unknown;
  chain: Promise<void>;
  timer: NodeJS.Timeout;
  settle?: { resolve: (result: unknown) => void; reject: (error: Error) => void };
  ended: boolean;
}

interface Ended {
  info: SessionInfo;
  protocol: SessionProtocol;
  explicit: boolean;
  received: Set<string>;
  opening: unknown;
}

function field(message: unknown, name: string): string | undefined {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return undefined;
  const value = (message as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function hashOf(operationType: string, message: unknown): string {
  return bytesToHex(sha256(utf8ToBytes(JSON.stringify([operationType, message]))));
}

/** The sealed wire form: the relay-checked fields of a known operation type left empty, teamId readable. */
export function sealedWireMessage(
  operationType: string,
  message: unknown,
  seal: SealChannel,
  sessionId: string | undefined,
): unknown {
  const teamId = field(message, 'teamId');
  const blanks: Record<string, string> = {};
  if (Object.hasOwn(KNOWN_OPERATIONS, operationType)) {
    for (const name of Object.keys(KNOWN_OPERATIONS[operationType as KnownOperationType].shape))
      blanks[name] = '';
  }
  return {
    ...blanks,
    ...(teamId === undefined ? {} : { teamId }),
    sealed: seal.seal(message, { operationType, sessionId, teamId }),
  };
}

export class SessionManager extends TypedEmitter<SessionEvents> {
  readonly #client: RelayClient;
  readonly #protocols: SessionProtocol[] = [];
  readonly #live = new Map<string, Live>();
  readonly #ended = new Map<string, Ended>();
  readonly #options: Required<Omit<SessionManagerOptions, 'allowPeer' | 'sealFor'>> &
    Pick<SessionManagerOptions, 'allowPeer' | 'sealFor'>;
  readonly #unsubscribe: () => void;
  /** Round messages waiting for their session's opening, per session key. */
  readonly #orphans = new Map<string, { deliveries: Delivery[]; timer: NodeJS.Timeout }>();

  constructor(client: RelayClient, options: SessionManagerOptions = {}) {
    super((error) => this.emit('error', error instanceof Error ? error : new Error(String(error))));
    this.#client = client;
    this.#options = {
      timeoutMs: options.timeoutMs ?? 60_000,
      maxSessions: options.maxSessions ?? 1000,
      maxEarlyPerSession: options.maxEarlyPerSession ?? 8,
      rememberEnded: options.rememberEnded ?? 10_000,
      orphanHoldMs: options.orphanHoldMs ?? 5_000,
      ...(options.allowPeer ? { allowPeer: options.allowPeer } : {}),
      ...(options.sealFor ? { sealFor: options.sealFor } : {}),
    };
    this.#unsubscribe = client.on('message', (delivery) => this.#onDelivery(delivery));
  }

  /** Registers a protocol: its openings start sessions here (responder), its rounds are routed. */
  register(protocol: SessionProtocol<never, unknown> | SessionProtocol): this {
    this.#protocols.push(protocol as SessionProtocol);
    return this;
  }

  /** Sessions running now. */
  get activeCount(): number {
    return this.#live.size;
  }

  /**
   * Starts a session as the initiator (an mpc, naming the cli `peerId`). Resolves with the
   * protocol's result; rejects with SessionAbortedError when it is aborted (either side) or times out.
   */
  start<Params, Result>(
    protocol: SessionProtocol<Params, Result>,
    options: { peerId: string; params: Params; sessionId?: string; timeoutMs?: number },
  ): { sessionId: string; result: Promise<Result> } {
    if (!protocol.initiate) throw new Error(`protocol ${protocol.name} has no initiator side`);
    if (this.#client.peer.type !== 'mpc') {
      throw new Error('only an mpc opens sessions: the relay routes a cli by the conversations mpcs open');
    }
    const sessionId = options.sessionId ?? randomUUID();
    const key = this.#key(options.peerId, sessionId);
    if (this.#live.has(key) || this.#ended.has(key)) throw new Error(`session ${sessionId} was already used`);
    if (!this.#protocols.includes(protocol as unknown as SessionProtocol))
      this.register(protocol as unknown as SessionProtocol);
    const live = this.#create(
      protocol as unknown as SessionProtocol,
      options.peerId,
      sessionId,
      'initiator',
      true,
      undefined,
      options.timeoutMs,
    );
    const result = new Promise<Result>((resolve, reject) => {
      live.settle = { resolve: resolve as (value: unknown) => void, reject };
    });
    result.catch(() => {});
    this.#enqueue(live, async () => {
      const run = (protocol.initiate as NonNullable<typeof protocol.initiate>)(live.context, options.params);
      live.run = run as ProtocolRun<unknown>;
      await this.#apply(live, await run.start());
    });
    return { sessionId, result };
  }

  /** Aborts every live session (`SHUTDOWN`, the peer is told) and stops listening. */
  close(): void {
    for (const live of [...this.#live.values()])
      this.#abort(live, 'SHUTDOWN', 'the party is shutting down', 'self');
    for (const orphan of this.#orphans.values()) clearTimeout(orphan.timer);
    this.#orphans.clear();
    this.#unsubscribe();
  }

  #key(peerId: string, sessionId: string): string {
    return `${peerId}\u0000${sessionId}`;
  }

  #create(
    protocol: SessionProtocol,
    peerId: string,
    sessionId: string,
    role: 'initiator' | 'responder',
    explicit: boolean,
    opening: unknown,
    timeoutMs = this.#options.timeoutMs,
  ): Live {
    const controller = new AbortController();
    const info: SessionInfo = { sessionId, peerId, protocol: protocol.name, role };
    const live: Live = {
      info,
      protocol,
      run: { start: () => ({ expect: 1 }), receive: () => ({ expect: 1 }), destroy: () => {} },
      context: { sessionId, self: this.#client.peer, peerId, role, signal: controller.signal },
      controller,
      explicit,
      expect: undefined,
      held: new Map(),
      received: new Set(),
      opening,
      chain: Promise.resolve(),
      timer: setTimeout(
        () => this.#abort(live, 'TIMEOUT', `session not finished within ${timeoutMs} ms`, 'self'),
        timeoutMs,
      ),
      ended: false,
    };
    live.timer.unref();
    this.#live.set(this.#key(peerId, sessionId), live);
    this.emit('started', info);
    return live;
  }

  /** Runs `work` after what the session is already doing; a throw aborts the session. */
  #enqueue(live: Live, work: () => Promise<void>, ifEnded?: () => void): void {
    live.chain = live.chain.then(async () => {
      if (live.ended) {
        ifEnded?.();
        return;
      }
      try {
        await work();
      } catch (error) {
        const abort = error as Partial<SessionAbortError>;
        this.#abort(
          live,
          typeof abort.code === 'string' ? abort.code : 'PROTOCOL_ERROR',
          (error as Error).message ?? String(error),
          'self',
        );
      }
    });
  }

  async #apply(live: Live, step: Step<unknown>): Promise<void> {
    if (live.ended) return;
    for (const outgoing of step.send ?? [])
      this.#send(live.info.peerId, live.info.sessionId, live.explicit, live.protocol, outgoing);
    if (step.result !== undefined) {
      this.#end(live);
      this.emit('finished', { ...live.info, result: step.result });
      live.settle?.resolve(step.result);
      return;
    }
    live.expect = step.expect;
    const next = live.expect === undefined ? undefined : live.held.get(live.expect);
    if (next) {
      live.held.delete(next.input.round);
      live.received.add(next.hash);
      await this.#apply(live, await live.run.receive(next.input));
    }
  }

  #send(
    peerId: string,
    sessionId: string,
    explicit: boolean,
    protocol: SessionProtocol,
    outgoing: Outgoing,
    seal = true,
  ): void {
    const channel = seal && protocol.sealable !== false ? this.#options.sealFor?.(peerId) : undefined;
    const wireSessionId = explicit ? sessionId : undefined;
    const message = channel
      ? sealedWireMessage(outgoing.operationType, outgoing.message, channel, wireSessionId)
      : outgoing.message;
    const request = {
      operationType: outgoing.operationType,
      message,
      ...(wireSessionId === undefined ? {} : { sessionId: wireSessionId }),
      ...(this.#client.peer.type === 'mpc' ? { cliId: peerId } : {}),
    };
    try {
      this.#client
        .send(request)
        .catch((error: Error) =>
          this.emit(
            'error',
            new Error(`session ${sessionId}: send failed: ${error.message}`, { cause: error }),
          ),
        );
    } catch (error) {
      this.emit(
        'error',
        new Error(`session ${sessionId}: send failed: ${(error as Error).message}`, { cause: error }),
      );
    }
  }

  #abortFrame(protocol: SessionProtocol, code: string, reason: string, opening: unknown): Outgoing {
    if (protocol.abortMessage) return protocol.abortMessage(code, reason, opening);
    const teamId = field(opening, 'teamId');
    return {
      operationType: SESSION_ABORT_OPERATION,
      message: { code, reason, ...(teamId === undefined ? {} : { teamId }) },
    };
  }

  #abort(live: Live, code: string, reason: string, by: 'self' | 'peer'): void {
    if (live.ended) return;
    this.#end(live);
    // Abort frames carry no secret and must be readable whatever the peer's keys: never sealed.
    if (by === 'self') {
      this.#send(
        live.info.peerId,
        live.info.sessionId,
        live.explicit,
        live.protocol,
        this.#abortFrame(live.protocol, code, reason, live.opening),
        false,
      );
    }
    this.emit('aborted', { ...live.info, code, reason, by });
    live.settle?.reject(new SessionAbortedError(live.info.sessionId, code, reason, by));
  }

  #end(live: Live): void {
    live.ended = true;
    clearTimeout(live.timer);
    live.controller.abort();
    live.held.clear();
    try {
      live.run.destroy();
    } catch (error) {
      this.emit('error', error as Error);
    }
    const key = this.#key(live.info.peerId, live.info.sessionId);
    this.#live.delete(key);
    this.#ended.set(key, {
      info: live.info,
      protocol: live.protocol,
      explicit: live.explicit,
      received: live.received,
      opening: live.opening,
    });
    if (this.#ended.size > this.#options.rememberEnded) {
      const oldest = this.#ended.keys().next().value;
      if (oldest !== undefined) this.#ended.delete(oldest);
    }
  }

  #protocolFor(operationType: string, message: unknown): SessionProtocol | undefined {
    return this.#protocols.find((protocol) => protocol.roundOf(operationType, message) !== undefined);
  }

  #isAbort(protocol: SessionProtocol | undefined, operationType: string): boolean {
    if (operationType === SESSION_ABORT_OPERATION) return true;
    return (protocol?.abortOperationTypes ?? []).includes(operationType);
  }

  #onDelivery(delivery: Delivery): void {
    const { operationType, from: peerId } = delivery;
    const keyed = conversationKey({
      operationType,
      message: delivery.message,
      sessionId: delivery.sessionId,
    });
    if (!keyed) return;
    const sessionId = keyed.key;
    const explicit = delivery.sessionId !== undefined;
    const key = this.#key(peerId, sessionId);
    const live = this.#live.get(key);
    const ended = live ? undefined : this.#ended.get(key);
    const known = live?.protocol ?? ended?.protocol;
    const isAbortFrame =
      this.#isAbort(known, operationType) || this.#protocols.some((p) => this.#isAbort(p, operationType));
    if (isAbortFrame) {
      if (live) {
        this.#abort(
          live,
          field(delivery.message, 'code') ?? 'ABORTED',
          field(delivery.message, 'reason') ?? 'the peer aborted',
          'peer',
        );
      }
      return;
    }
    const wireHash = hashOf(operationType, delivery.message);
    if (!live) {
      if (ended) {
        if (ended.received.has(wireHash)) {
          this.emit('dropped', {
            sessionId,
            peerId,
            operationType,
            reason: 'duplicate of a message of an ended session',
          });
          return;
        }
        if (
          !this.#protocolFor(operationType, delivery.message) &&
          !this.#protocols.some((p) => p.openings.includes(operationType))
        )
          return;
        const reason = 'this session has ended: a session runs once; open a new session';
        this.emit('dropped', { sessionId, peerId, operationType, reason });
        this.#send(
          peerId,
          sessionId,
          ended.explicit,
          ended.protocol,
          this.#abortFrame(ended.protocol, 'SESSION_ENDED', reason, delivery.message),
          false,
        );
        return;
      }
      this.#open(delivery, peerId, sessionId, explicit, wireHash);
      return;
    }
    let message: unknown;
    try {
      message = this.#unseal(live.protocol, delivery);
    } catch (error) {
      this.#enqueue(live, async () => {
        throw error;
      });
      return;
    }
    const round = live.protocol.roundOf(operationType, message);
    if (round === undefined) {
      this.emit('dropped', {
        sessionId,
        peerId,
        operationType,
        reason: `not a message of ${live.protocol.name}`,
      });
      return;
    }
    const input: RoundInput = { round, operationType, message, from: peerId };
    this.#enqueue(
      live,
      async () => {
        if (live.received.has(wireHash) || live.held.get(round)?.hash === wireHash) {
          this.emit('dropped', { sessionId, peerId, operationType, reason: 'duplicate' });
          return;
        }
        if (live.expect === round) {
          live.received.add(wireHash);
          await this.#apply(live, await live.run.receive(input));
          return;
        }
        if (live.expect !== undefined && round > live.expect) {
          if (live.held.has(round)) {
            throw Object.assign(new Error(`two different messages for round ${round}`), {
              code: 'CONFLICTING_MESSAGE',
            });
          }
          if (live.held.size >= this.#options.maxEarlyPerSession) {
            throw Object.assign(new Error('too many early messages'), { code: 'TOO_MANY_EARLY' });
          }
          live.held.set(round, { input, hash: wireHash });
          return;
        }
        throw Object.assign(
          new Error(`unexpected message for round ${round} (expected ${live.expect ?? 'none'})`),
          {
            code: 'CONFLICTING_MESSAGE',
          },
        );
      },
      () => this.#onDelivery(delivery),
    ); // it ended meanwhile: handled as a message of an ended session
  }

  /** A message without a live or ended session: an opening of a registered protocol, or refused. */
  #open(delivery: Delivery, peerId: string, sessionId: string, explicit: boolean, wireHash: string): void {
    const { operationType } = delivery;
    const protocol = this.#protocols.find((p) => p.respond && p.openings.includes(operationType));
    const member = protocol ?? this.#protocolFor(operationType, delivery.message);
    if (!member) return; // not a session message: other listeners' business
    const refuse = (code: string, reason: string, using: SessionProtocol) => {
      this.emit('refused', { sessionId, peerId, operationType, code, reason });
      this.#send(
        peerId,
        sessionId,
        explicit,
        using,
        this.#abortFrame(using, code, reason, delivery.message),
        false,
      );
    };
    if (!protocol) {
      const key = this.#key(peerId, sessionId);
      const orphan = this.#orphans.get(key);
      if (orphan) {
        if (orphan.deliveries.length < this.#options.maxEarlyPerSession) orphan.deliveries.push(delivery);
        return;
      }
      if (this.#orphans.size >= this.#options.maxSessions) {
        refuse(
          'UNKNOWN_SESSION',
          'no such session here (ended, expired, or lost in a restart): open a new session',
          member,
        );
        return;
      }
      const timer = setTimeout(() => {
        this.#orphans.delete(key);
        refuse(
          'UNKNOWN_SESSION',
          'no such session here (ended, expired, or lost in a restart): open a new session',
          member,
        );
      }, this.#options.orphanHoldMs);
      timer.unref();
      this.#orphans.set(key, { deliveries: [delivery], timer });
      return;
    }
    if (this.#options.allowPeer && !this.#options.allowPeer(peerId)) {
      refuse('NOT_ALLOWED', `${peerId} is not on this party's allow-list`, protocol);
      return;
    }
    if (this.#live.size >= this.#options.maxSessions) {
      refuse('BUSY', `too many sessions running (${this.#options.maxSessions})`, protocol);
      return;
    }
    let message: unknown;
    try {
      message = this.#unseal(protocol, delivery);
    } catch (error) {
      refuse((error as SealError).code ?? 'SEAL_INVALID', (error as Error).message, protocol);
      return;
    }
    const live = this.#create(protocol, peerId, sessionId, 'responder', explicit, message);
    live.received.add(wireHash);
    const input: RoundInput = {
      round: protocol.roundOf(operationType, message) ?? 1,
      operationType,
      message,
      from: peerId,
    };
    this.#enqueue(live, async () => {
      live.run = (protocol.respond as NonNullable<typeof protocol.respond>)(live.context, input);
      await this.#apply(live, await live.run.start(input));
    });
    const key = this.#key(peerId, sessionId);
    const orphan = this.#orphans.get(key);
    if (orphan) {
      clearTimeout(orphan.timer);
      this.#orphans.delete(key);
      for (const early of orphan.deliveries) this.#onDelivery(early);
    }
  }

  /** The message in clear: opened when sealed, refused when the pair is sealed and it is not. */
  #unseal(protocol: SessionProtocol, delivery: Delivery): unknown {
    const channel = protocol.sealable === false ? undefined : this.#options.sealFor?.(delivery.from);
    const sealed =
      delivery.message !== null && typeof delivery.message === 'object' && 'sealed' in delivery.message;
    if (!channel) {
      if (sealed) throw new SealError('sealed message, but no sealing keys for this peer');
      return delivery.message;
    }
    if (!sealed) {
      throw Object.assign(new SealError('this pair seals its payloads: a message in clear is refused'), {
        code: 'SEAL_REQUIRED',
      });
    }
    return channel.open((delivery.message as { sealed: unknown }).sealed, {
      operationType: delivery.operationType,
      sessionId: delivery.sessionId,
      teamId: field(delivery.message, 'teamId'),
    });
  }
}
