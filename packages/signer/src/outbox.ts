/**
 * The outbox: frames a caller asked to send, kept in order until the transport has taken them.
 *
 * Life of an entry: `enqueue` (pending) -> `take` (in flight: handed to a socket) -> either
 * `settle` (done, removed, its promise resolves) or `requeue` (the socket failed before it took
 * the frame: back into pending at its original position, so order is preserved).
 *
 * Release policy. With protocol v1 there are no acknowledgements, so the client settles an
 * entry as soon as the socket reports the frame written (the `ws.send` callback). A frame written
 * to a connection that dies before the relay processed it cannot be detected and is lost: protocol v1
 * is at-most-once for the frame in flight at that moment, and exactly-once for every frame
 * queued while disconnected (it is written once, after the reconnect). Nothing is ever written
 * twice by the library.
 *
 * Protocol v2: each entry has a stable `clientMsgId`. A v2 client settles on the relay's ack result
 * (`settle(clientMsgId, result)`) instead of on the socket write, and calls `requeueInFlight()` when
 * a connection ends, so every unacknowledged frame is written again with the same id (at-least-once,
 * duplicates suppressed by the relay: effectively exactly-once).
 */
import { ClientClosedError, OutboxFullError } from './errors.js';

export interface OutboxEntry {
  /** Order of the entry (monotonic per outbox). */
  readonly seq: number;
  /** A stable id for the frame; protocol v2 sends it as `clientMsgId`. */
  readonly clientMsgId: string;
  /** The exact text to write (on a v2 connection: with `clientMsgId`). */
  readonly text: string;
  /** The text to write on a v1 connection (without `clientMsgId`); defaults to `text`. */
  readonly v1Text: string;
  /** How many times it has been handed to a socket. */
  attempts: number;
}

/** How an entry was settled: written (v1), or the relay's ack result (v2). */
export interface SendResult {
  clientMsgId: string;
  /** `written`: v1 connection, the socket took it (no acknowledgement exists in protocol v1). */
  status: 'written' | 'delivered' | 'stored' | 'duplicate';
  /** The relay's message id (v2). */
  messageId?: string;
  /** A message sent as fragments: how many (the other fields are the last fragment's). */
  fragments?: number;
}

interface Tracked {
  entry: OutboxEntry;
  resolve: (result: SendResult) => void;
  reject: (error: Error) => void;
}

export interface OutboxOptions {
  /** Most frames kept (pending + in flight); `enqueue` beyond it rejects with OutboxFullError. */
  maxEntries: number;
  /** Prefix of generated client message ids. */
  idPrefix?: string;
}

export class Outbox {
  readonly #pending: Tracked[] = [];
  readonly #inFlight = new Map<string, Tracked>();
  readonly #maxEntries: number;
  readonly #idPrefix: string;
  #seq = 0;

  constructor(options: OutboxOptions) {
    this.#maxEntries = options.maxEntries;
    this.#idPrefix = options.idPrefix ?? `m${Date.now().toString(36)}-`;
  }

  /** Frames waiting for a socket. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Frames handed to a socket and not yet settled. */
  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  get size(): number {
    return this.#pending.length + this.#inFlight.size;
  }

  /**
   * Queues a frame. The promise resolves when the entry is settled and rejects when it is dropped
   * (`clear`). It never causes an unhandled rejection if the caller ignores it.
   */
  enqueue(
    text: string | ((clientMsgId: string) => string),
    v1Text?: string,
  ): { entry: OutboxEntry; done: Promise<SendResult> } {
    if (this.size >= this.#maxEntries) throw new OutboxFullError(this.#maxEntries);
    const seq = ++this.#seq;
    const clientMsgId = `${this.#idPrefix}${seq}`;
    const full = typeof text === 'function' ? text(clientMsgId) : text;
    const entry: OutboxEntry = { seq, clientMsgId, text: full, v1Text: v1Text ?? full, attempts: 0 };
    let resolve!: (result: SendResult) => void;
    let reject!: (error: Error) => void;
    const done = new Promise<SendResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(() => {});
    this.#pending.push({ entry, resolve, reject });
    return { entry, done };
  }

  /** Takes the oldest pending entry and marks it in flight. */
  take(): OutboxEntry | undefined {
    const tracked = this.#pending.shift();
    if (!tracked) return undefined;
    tracked.entry.attempts += 1;
    this.#inFlight.set(tracked.entry.clientMsgId, tracked);
    return tracked.entry;
  }

  /** The entry is done (written, or acknowledged in v2): removes it and resolves its promise. */
  settle(clientMsgId: string, result: Omit<SendResult, 'clientMsgId'> = { status: 'written' }): boolean {
    const tracked = this.#inFlight.get(clientMsgId) ?? this.#takePending(clientMsgId);
    if (!tracked) return false;
    this.#inFlight.delete(clientMsgId);
    tracked.resolve({ clientMsgId, ...result });
    return true;
  }

  /** The relay refused the entry (an error frame naming its clientMsgId): removes it, rejects. */
  fail(clientMsgId: string, error: Error): boolean {
    const tracked = this.#inFlight.get(clientMsgId) ?? this.#takePending(clientMsgId);
    if (!tracked) return false;
    this.#inFlight.delete(clientMsgId);
    tracked.reject(error);
    return true;
  }

  /** Whether an entry with this id is still kept (pending or in flight). */
  has(clientMsgId: string): boolean {
    return this.#inFlight.has(clientMsgId) || this.#pending.some((t) => t.entry.clientMsgId === clientMsgId);
  }

  #takePending(clientMsgId: string): Tracked | undefined {
    const index = this.#pending.findIndex((t) => t.entry.clientMsgId === clientMsgId);
    if (index < 0) return undefined;
    return this.#pending.splice(index, 1)[0];
  }

  /** The socket did not take the entry: puts it back among the pending ones, in order. */
  requeue(clientMsgId: string): boolean {
    const tracked = this.#inFlight.get(clientMsgId);
    if (!tracked) return false;
    this.#inFlight.delete(clientMsgId);
    this.#insertInOrder(tracked);
    return true;
  }

  /** Puts every in-flight entry back among the pending ones (v2 reconnect), in order. */
  requeueInFlight(): number {
    const all = [...this.#inFlight.values()];
    this.#inFlight.clear();
    for (const tracked of all) this.#insertInOrder(tracked);
    return all.length;
  }

  /** Drops everything, rejecting each entry's promise (used by `close()`). */
  clear(error: Error = new ClientClosedError()): number {
    const all = [...this.#inFlight.values(), ...this.#pending];
    this.#inFlight.clear();
    this.#pending.length = 0;
    for (const tracked of all) tracked.reject(error);
    return all.length;
  }

  #insertInOrder(tracked: Tracked): void {
    const index = this.#pending.findIndex((other) => other.entry.seq > tracked.entry.seq);
    if (index < 0) this.#pending.push(tracked);
    else this.#pending.splice(index, 0, tracked);
  }
}
