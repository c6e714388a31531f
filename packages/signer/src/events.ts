/** What a RelayClient reports: its connection states and the frames it received. */
import type { FrameIssue } from '@mpc-relay/protocol';

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** For `connecting`/`reconnecting`: the 1-based number of the attempt about to be made. */
  attempt?: number;
  /** For `reconnecting`: how long the client waits before the attempt. */
  delayMs?: number;
  /** Why the state changed (close code and reason, error message, `proactive reconnect`...). */
  reason?: string;
  /** For `closed` after a terminal failure, and `reconnecting` after a failed attempt. */
  error?: Error;
}

/** A message the relay delivered from the other peer (v1 shapes, or v2 with its ids). */
export interface Delivery {
  operationType: string;
  from: string;
  /** Present on deliveries to an mpc (`{operationType, from, to, message}`). */
  to?: string;
  message: unknown;
  /** The session (conversation) the sender named: the `sessionId` envelope field. */
  sessionId?: string;
  /** A message the library reassembled from fragments: the set's id, count and size. */
  fragments?: { id: string; count: number; bytes: number };
  /** Protocol v2: the relay's id for the message (the library acknowledges it for you). */
  messageId?: string;
  /** Protocol v2: the sender's own id for the message, when it gave one. */
  clientMsgId?: string;
  /** Protocol v2: when the relay accepted the message (epoch ms). */
  sentAt?: number;
  /** The exact frame text received. */
  raw: string;
}

/** Protocol v2: a message this client sent expired at the relay before its receiver acknowledged it. */
export interface ExpiredReport {
  /** The id `send()` resolved with (`SendResult.clientMsgId`). */
  clientMsgId: string;
  message: string;
  raw: string;
}

/** An error frame from the relay, or API Gateway's own `{"message":"Forbidden",...}`. */
export interface RelayErrorReport {
  source: 'relay' | 'gateway';
  /** The relay's error code (`SPOOFED_SOURCE`, `NO_MAPPING`...); absent for gateway frames. */
  code?: string;
  message: string;
  issues?: FrameIssue[];
  raw: string;
}

/** A frame that is not a valid relay frame: reported, never thrown. */
export interface BadFrameReport {
  /** The frame as received (binary frames as `<binary N bytes>`), cut to 1,000 characters. */
  raw: string;
  code: string;
  message: string;
  issues?: FrameIssue[];
}

export interface RelayClientEvents {
  state: (change: StateChange) => void;
  connectionId: (connectionId: string) => void;
  message: (delivery: Delivery) => void;
  relayError: (report: RelayErrorReport) => void;
  badFrame: (report: BadFrameReport) => void;
  /** Terminal failures (typed), failures of your own listeners, anything unexpected. */
  error: (error: Error) => void;
  /** Every text frame written, exactly as sent (tokens are never in frames). */
  frameOut: (text: string) => void;
  /** Every text frame received, exactly as received. */
  frameIn: (text: string) => void;
  /** The relay answered an application ping. */
  pong: (at: number) => void;
  /** Protocol v2: a sent message expired undelivered / unacknowledged (the relay's EXPIRED frame). */
  expired: (report: ExpiredReport) => void;
  /** A fragment set refused (inconsistent, digest mismatch, over the size limit, expired): nothing delivered. */
  fragmentRefused: (refusal: import('./fragments.js').FragmentRefusal) => void;
  /** Protocol v2: a delivery dropped because it was already handed to the application (by messageId). */
  duplicate: (delivery: Delivery) => void;
}
