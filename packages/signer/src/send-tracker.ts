/**
 * The sending side: every send goes through the outbox and is written, in order, to the open
 * connection. v1 connection: settled once the socket took the frame (the original demo has no acks). v2
 * connection: settled by the relay's ack result; until then it is resent (same clientMsgId) after
 * every reconnect and after a retryable error, and a refusal naming it rejects it.
 */
import { ErrorCode, type PeerIdentity } from '@mpc-relay/protocol';
import { SendRefusedError } from './errors.js';
import { Outbox, type SendResult } from './outbox.js';
import { buildSendServerFrame, type SendRequest } from './send-frame.js';

/** The open connection, as the tracker writes to it. */
export interface Link {
  v2: boolean;
  /** `done` gets an error when the socket did not take the frame. */
  write(text: string, done: (error?: Error) => void): void;
}

/** How soon a frame refused with INTERNAL / THROTTLED (not accepted, safe to resend) goes again. */
const RETRY_DELAY_MS = 200;

export class SendTracker {
  readonly #outbox: Outbox;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly peer: PeerIdentity,
    maxEntries: number,
    /** The open connection, or undefined while there is none. */
    private readonly link: () => Link | undefined,
  ) {
    this.#outbox = new Outbox({ maxEntries });
  }

  /** Frames waiting to be written, or (v2) for their ack result. */
  get size(): number {
    return this.#outbox.size;
  }

  /** Validates and queues a send (throws InvalidSendError / OutboxFullError), then writes what it can. */
  send(request: SendRequest): Promise<SendResult> {
    const v1Text = buildSendServerFrame(this.peer, request);
    const { done } = this.#outbox.enqueue(
      (clientMsgId) => buildSendServerFrame(this.peer, request, clientMsgId),
      v1Text,
    );
    this.flush();
    return done;
  }

  /** Writes every pending entry, in order, if a connection is open. */
  flush(): void {
    const link = this.link();
    if (!link) return;
    for (let entry = this.#outbox.take(); entry; entry = this.#outbox.take()) {
      const id = entry.clientMsgId;
      link.write(link.v2 ? entry.text : entry.v1Text, (error) => {
        if (error) {
          // Never written: back into the outbox, in order, for the next connection.
          this.#outbox.requeue(id);
          this.flush();
        } else if (!link.v2) {
          this.#outbox.settle(id);
        }
      });
    }
  }

  /** v2: the relay's ack result settles the entry. */
  acknowledged(ack: { clientMsgId: string; messageId: string; status: SendResult['status'] }): void {
    this.#outbox.settle(ack.clientMsgId, { status: ack.status, messageId: ack.messageId });
  }

  /** v2: an error frame naming one of our pending entries (EXPIRED is not one: it was stored). */
  refused(clientMsgId: string, code: string, message: string): void {
    if (!this.#outbox.has(clientMsgId)) return;
    if (code === ErrorCode.Internal || code === ErrorCode.Throttled) {
      if (this.#outbox.requeue(clientMsgId)) {
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => this.flush(), RETRY_DELAY_MS);
        this.#retryTimer.unref();
      }
      return;
    }
    this.#outbox.fail(clientMsgId, new SendRefusedError(code, message));
  }

  /** The connection ended. v2: what was written and not acknowledged goes again on the next one. */
  connectionLost(wasV2: boolean): void {
    if (wasV2) this.#outbox.requeueInFlight();
  }

  /** Drops everything, rejecting each send with `error`; returns how many were dropped. */
  clear(error: Error): number {
    clearTimeout(this.#retryTimer);
    return this.#outbox.clear(error);
  }
}
