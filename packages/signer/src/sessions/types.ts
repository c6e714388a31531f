/**
 * The signing-session API: what a protocol (MuSig2, the single-key co-signer, DKLs23, FROST, ...)
 * implements to run over the relay. The SessionManager does the rest: session ids on every
 * message, round order (early messages held per session, round and sender), duplicates dropped,
 * per-session state and timeout, the abort frame, sealing, many sessions over one connection.
 */
import type { PeerIdentity } from '@mpc-relay/protocol';

/** A message a protocol sends: an operation type and its message (JSON). */
export interface Outgoing {
  operationType: string;
  message: unknown;
}

/** A message of the peer handed to the protocol, already unsealed and in round order. */
export interface RoundInput {
  round: number;
  operationType: string;
  message: unknown;
  /** The peer's id, as the relay authenticated it. */
  from: string;
}

/**
 * What a protocol does after a start or a received round: messages to send, then either the next
 * round it expects from the peer (`expect`) or its result (the session is finished).
 */
export type Step<Result> =
  | { send?: Outgoing[]; expect: number; result?: undefined }
  | { send?: Outgoing[]; result: Result; expect?: undefined };

export interface SessionContext {
  sessionId: string;
  self: PeerIdentity;
  peerId: string;
  role: 'initiator' | 'responder';
  /** Aborted when the session ends early (timeout, abort): stop any work in progress. */
  signal: AbortSignal;
}

/** One party's run of a protocol for one session. Called once at a time, in round order. */
export interface ProtocolRun<Result> {
  /** Initiator: the first messages. Responder: handles the opening message (`input`). */
  start(input?: RoundInput): Step<Result> | Promise<Step<Result>>;
  /** The peer's message of the round this run expects; throw SessionAbortError to abort. */
  receive(input: RoundInput): Step<Result> | Promise<Step<Result>>;
  /** Called exactly once when the session ends, whatever the way: erase secrets (nonces) here. */
  destroy(): void;
}

export interface SessionProtocol<Params = unknown, Result = unknown> {
  /** A short name (`musig2-sign`, `single-key`, ...). */
  readonly name: string;
  /** Operation types that open a session of this protocol on the responder's side. */
  readonly openings: readonly string[];
  /** The round of a received message of this protocol; undefined when it is not one. */
  roundOf(operationType: string, message: unknown): number | undefined;
  /** The initiator's run (the mpc side: a cli cannot open conversations). */
  initiate?(context: SessionContext, params: Params): ProtocolRun<Result>;
  /** The responder's run for an opening; throw SessionAbortError to refuse it. */
  respond?(context: SessionContext, opening: RoundInput): ProtocolRun<Result>;
  /**
   * The abort frame sent to the peer (default `SessionAbort {code, reason}`); signing protocols
   * answer with the refusal frame mpcs know (`SignRefused`). `opening`: the session's first message.
   */
  abortMessage?(code: string, reason: string, opening: unknown): Outgoing;
  /** Operation types that mean the peer aborted (default: `SessionAbort`). */
  readonly abortOperationTypes?: readonly string[];
  /** False for messages that must stay readable (a key setup, which creates the sealing keys). */
  readonly sealable?: boolean;
}

/** Thrown by a protocol to abort (or refuse) a session; `code` goes to the peer. */
export class SessionAbortError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SessionAbortError';
  }
}

/** The result promise of a session this party started, when it ends without a result. */
export class SessionAbortedError extends Error {
  constructor(
    readonly sessionId: string,
    readonly code: string,
    readonly reason: string,
    /** `self`: this party aborted (timeout, verification failure...); `peer`: the peer's abort frame. */
    readonly by: 'self' | 'peer',
  ) {
    super(`session ${sessionId} aborted by ${by === 'self' ? 'us' : 'the peer'}: ${code} ${reason}`);
    this.name = 'SessionAbortedError';
  }
}

export const SESSION_ABORT_OPERATION = 'SessionAbort';
