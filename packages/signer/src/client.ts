/**
 * RelayClient: one peer's connection to the relay (a cli co-signer or an mpc), kept alive and
 * re-established on its own, with an outbox so that what is sent while disconnected goes out, in
 * order, once connected again. See README.md for the delivery semantics. The parts: handshake.ts
 * (one connection attempt), reconnect-policy.ts, connection-watch.ts (keepalive, age limit),
 * send-tracker.ts (outbox, v2 ack results), inbound.ts (decoding, routing), recent-ids.ts and
 * ack-batcher.ts (v2 receiving).
 */
import {
  ErrorCode,
  FRAGMENT_OPERATION,
  type PeerIdentity,
  PeerIdSchema,
  PROTOCOL_V2,
  PROTOCOL_V2_MARKER,
} from '@mpc-relay/protocol';
import WebSocket from 'ws';
import { AckBatcher } from './ack-batcher.js';
import { ConnectionWatch } from './connection-watch.js';
import { TypedEmitter } from './emitter.js';
import { ClientClosedError, InvalidSendError, type SignerClientError, TokenExpiredError } from './errors.js';
import type {
  ConnectionState,
  Delivery,
  RelayClientEvents,
  RelayErrorReport,
  StateChange,
} from './events.js';
import { needsFragments, Reassembler, splitIntoFragments } from './fragments.js';
import { type AttemptEnd, startAttempt } from './handshake.js';
import { type InboundSink, readFrame, routeFrame } from './inbound.js';
import { type RelayClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import type { SendResult } from './outbox.js';
import { RecentIds } from './recent-ids.js';
import { ReconnectPolicy } from './reconnect-policy.js';
import type { SendRequest } from './send-frame.js';
import { type Link, SendTracker } from './send-tracker.js';
import { buildConnectUrl, redactUrl } from './url.js';

export class RelayClient extends TypedEmitter<RelayClientEvents> {
  readonly peer: PeerIdentity;
  readonly url: URL;
  /** The URL without secrets, for logs. */
  readonly displayUrl: string;

  readonly #options: ResolvedOptions;
  readonly #reconnect: ReconnectPolicy;
  readonly #sends: SendTracker;
  readonly #recentDeliveries: RecentIds;
  readonly #acks = new AckBatcher((text) => this.#writeIfV2(text));
  readonly #reassembler: Reassembler;
  /** Offer the v2 subprotocol on the next handshake (false once a relay did not echo it). */
  #offerV2: boolean;
  /** The current connection speaks v2. */
  #v2 = false;

  #state: ConnectionState = 'idle';
  #ws: WebSocket | undefined;
  #watch: ConnectionWatch | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #connectionId: string | undefined;
  #connectPromise: Promise<void> | undefined;
  #settleConnect: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #closedPromise: Promise<void> | undefined;
  #closing = false;
  #terminalError: SignerClientError | undefined;
  /** The socket being closed on purpose for a proactive reconnect. */
  #proactiveSocket: WebSocket | undefined;

  constructor(options: RelayClientOptions) {
    super((error, event) => this.#reportListenerError(error, String(event)));
    const id = PeerIdSchema.safeParse(options.peer.id);
    if (!id.success)
      throw new InvalidSendError(`invalid ${options.peer.type} id: ${id.error.issues[0]?.message}`);
    this.peer = { type: options.peer.type, id: options.peer.id };
    this.#options = resolveOptions(options);
    this.url = buildConnectUrl(options.url, this.peer, this.#options.token, this.#options.tokenIn);
    this.displayUrl = redactUrl(this.url);
    this.#reconnect = new ReconnectPolicy(this.#options.reconnect, this.#options.random);
    this.#sends = new SendTracker(this.peer, this.#options.maxOutboxEntries, () => this.#link());
    this.#recentDeliveries = new RecentIds(this.#options.dedupeCacheSize);
    this.#offerV2 = this.#options.protocol === 'v2';
    this.#reassembler = new Reassembler(this.#options.fragments, (refusal) =>
      this.emit('fragmentRefused', refusal),
    );
  }

  /** The protocol of the current connection (`v2` once the relay echoed it), undefined when closed. */
  get protocol(): 'v2' | 'v1' | undefined {
    if (!this.#ws || this.#state !== 'open') return undefined;
    return this.#v2 ? 'v2' : 'v1';
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The connection id of the current connection, once the relay answered `getConnectionId`. */
  get connectionId(): string | undefined {
    return this.#connectionId;
  }

  /** Frames waiting to be written (queued while disconnected), or (v2) for their ack result. */
  get pendingCount(): number {
    return this.#sends.size;
  }

  /** Why the client stopped for good, if it did. */
  get terminalError(): SignerClientError | undefined {
    return this.#terminalError;
  }

  /**
   * Starts connecting. Resolves once the first connection is open; rejects with a typed error if
   * the client stops for good before that (refused handshake, unreachable relay, `close()`).
   * Calling it again returns the same promise.
   */
  connect(): Promise<void> {
    if (this.#connectPromise) return this.#connectPromise;
    if (this.#closing)
      return Promise.reject(this.#terminalError ?? new ClientClosedError('client is closed'));
    this.#connectPromise = new Promise<void>((resolve, reject) => {
      this.#settleConnect = { resolve, reject };
    });
    this.#connectPromise.catch(() => {});
    this.#openSocket(1);
    return this.#connectPromise;
  }

  /** Handlers for one operation type (e.g. `PartialSig`); returns an unsubscribe function. */
  onOperation(operationType: string, handler: (delivery: Delivery) => void): () => void {
    return this.on('message', (delivery) => {
      if (delivery.operationType === operationType) handler(delivery);
    });
  }

  onError(handler: (error: Error) => void): () => void {
    return this.on('error', handler);
  }

  /**
   * Sends a message to the other peer through the relay's `sendServer` route, building the original demo's
   * frame: `sourceId` is this client's own id; an mpc names the cli (`cliToMpc: {cliId: ownId}`).
   * The frame is validated first (throws InvalidSendError), then queued in the outbox: written now
   * if connected, or after the next reconnect. v1 connection: the promise resolves once the frame
   * is written to the socket (`status: 'written'`). v2 connection: once the relay's ack result
   * arrives (`delivered`, `stored` or `duplicate`, with its `messageId`); until then the frame is
   * resent, with the same `clientMsgId`, after every reconnect. It rejects if the client is closed
   * first, or (v2) with SendRefusedError when the relay refused this very frame. Ignoring it is safe.
   * `sendWithResult` resolves with the details.
   */
  send(request: SendRequest): Promise<void> {
    const result = this.sendWithResult(request).then(() => undefined);
    result.catch(() => {});
    return result;
  }

  /** `send()`, resolving with how the message was settled (`SendResult`: clientMsgId, status, messageId). */
  sendWithResult(request: SendRequest): Promise<SendResult> {
    if (this.#state === 'closed' || this.#closing) {
      return Promise.reject(new ClientClosedError('client is closed'));
    }
    // Fragments need acknowledged delivery (one lost fragment would lose the whole): v1 refuses as before.
    const v1 = !this.#offerV2 || (this.#state === 'open' && !this.#v2);
    if (v1 || !needsFragments(this.peer, request)) return this.#sends.send(request);
    let parts: SendRequest[];
    try {
      parts = splitIntoFragments(this.peer, request, this.#options.fragments);
    } catch (error) {
      throw new InvalidSendError((error as Error).message);
    }
    const sent = parts.map((part) => this.#sends.send(part));
    return Promise.all(sent).then((results) => ({
      ...(results.at(-1) as SendResult),
      fragments: results.length,
    }));
  }

  /**
   * Closes the connection for good: no reconnect; frames still queued are dropped and their
   * promises rejected with ClientClosedError. Resolves once the socket is closed.
   */
  close(reason = 'client closed'): Promise<void> {
    if (this.#closedPromise) return this.#closedPromise;
    // Acknowledge what the application already took, or the relay would deliver it again later.
    this.#acks.flush();
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    this.#stopWatch();
    const ws = this.#ws;
    this.#closedPromise = new Promise<void>((resolve) => {
      const finish = () => {
        this.#finishClosed(reason, undefined);
        resolve();
      };
      if (!ws || ws.readyState === WebSocket.CLOSED) {
        finish();
        return;
      }
      ws.once('close', finish);
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else closeGracefully(ws, reason);
    });
    return this.#closedPromise;
  }

  #setState(state: ConnectionState, details: Omit<StateChange, 'state' | 'previous'> = {}): void {
    const previous = this.#state;
    this.#state = state;
    this.emit('state', { state, previous, ...details });
  }

  #openSocket(attempt: number): void {
    if (this.#closing) return;
    this.#setState('connecting', { attempt });
    try {
      this.#ws = startAttempt(
        {
          url: this.url,
          displayUrl: this.displayUrl,
          token: this.#options.token,
          tokenIn: this.#options.tokenIn,
          offerV2: this.#offerV2,
          handshakeTimeoutMs: this.#options.handshakeTimeoutMs,
        },
        {
          open: (ws) => this.#opened(ws, attempt),
          data: (data, isBinary) => {
            this.#watch?.markAlive();
            this.#receive(data, isBinary);
          },
          pong: () => this.#watch?.markAlive(),
          end: (ws, end) => this.#ended(ws, end, attempt),
        },
      );
    } catch (error) {
      this.#fail(error as SignerClientError);
    }
  }

  #opened(ws: WebSocket, attempt: number): void {
    if (this.#closing) {
      ws.close(1000, 'client closed');
      return;
    }
    this.#reconnect.opened();
    this.#connectionId = undefined;
    this.#v2 = ws.protocol === PROTOCOL_V2;
    this.#setState('open', { attempt });
    this.#watch = new ConnectionWatch(
      ws,
      {
        keepalive: this.#options.keepalive,
        v2: this.#v2,
        redeliveryCheckMs: this.#options.redeliveryCheckMs,
        maxConnectionAgeMs: this.#options.maxConnectionAgeMs,
      },
      {
        write: (text) => this.#write(ws, text),
        tooOld: () => {
          this.#proactiveSocket = ws;
          closeGracefully(ws, 'proactive reconnect');
        },
      },
    );
    // v2: the marker tells the relay to resend every unacknowledged message to this connection.
    const ask = this.#v2
      ? { action: 'getConnectionId', v: PROTOCOL_V2_MARKER }
      : { action: 'getConnectionId' };
    this.#write(ws, JSON.stringify(ask));
    this.#sends.flush();
    this.#settleConnect?.resolve();
  }

  #ended(ws: WebSocket, end: AttemptEnd, attempt: number): void {
    if (this.#ws === ws) this.#ws = undefined;
    this.#stopWatch();
    this.#connectionId = undefined;
    if (end.openedAt !== undefined) this.#sends.connectionLost(this.#v2);
    this.#acks.clear();
    if (this.#closing) return; // close() finishes the job
    if (end.refused) {
      this.#fail(end.refused);
      return;
    }
    if (end.v2Unsupported) {
      this.#offerV2 = false;
      this.#setState('reconnecting', {
        attempt: 1,
        delayMs: 0,
        reason: 'the relay does not speak protocol v2: falling back to protocol v1',
      });
      this.#openSocket(attempt);
      return;
    }
    if (ws === this.#proactiveSocket) {
      this.#reconnect.reset();
      this.#setState('reconnecting', {
        attempt: 1,
        delayMs: 0,
        reason: 'proactive reconnect before the 2 h limit',
      });
      this.#openSocket(1);
      return;
    }
    const reason = end.closeReason ?? end.error?.message ?? 'connection failed';
    const next = this.#reconnect.next({
      opened: end.openedAt !== undefined,
      lived: end.openedAt === undefined ? 0 : Date.now() - end.openedAt,
      reason,
      ...(end.error ? { error: end.error } : {}),
    });
    if (!next.retry) {
      this.#fail(next.error);
      return;
    }
    const { attempt: failures, delayMs } = next;
    this.#setState('reconnecting', {
      attempt: failures,
      delayMs,
      reason,
      ...(end.error ? { error: end.error } : {}),
    });
    this.#retryTimer = setTimeout(() => this.#openSocket(failures + 1), delayMs);
  }

  #stopWatch(): void {
    this.#watch?.stop();
    this.#watch = undefined;
  }

  /** Writes a data frame: it restarts API Gateway's idle timer, and listeners may trace it. */
  #write(ws: WebSocket, text: string, done: (error?: Error) => void = () => {}): void {
    this.#watch?.markDataSent();
    ws.send(text, done);
    this.emit('frameOut', text);
  }

  /** The open connection, for the send tracker. */
  #link(): Link | undefined {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.#state !== 'open') return undefined;
    return { v2: this.#v2, write: (text, done) => this.#write(ws, text, done) };
  }

  #writeIfV2(text: string): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.#v2) return false;
    this.#write(ws, text);
    return true;
  }

  #receive(data: WebSocket.RawData, isBinary: boolean): void {
    const inbound = readFrame(data, isBinary);
    if (inbound.text !== undefined) this.emit('frameIn', inbound.text);
    if (inbound.ok) routeFrame(inbound.frame, inbound.text, this.#inbound);
    else this.emit('badFrame', inbound.report);
  }

  readonly #inbound: InboundSink = {
    connectionId: (connectionId) => {
      this.#connectionId = connectionId;
      this.emit('connectionId', connectionId);
    },
    delivery: (delivery, ackId) => {
      if (ackId === undefined) {
        this.#deliver(delivery);
        return;
      }
      // A redelivery of what the application already has (our ack was lost or late): ack again.
      if (this.#recentDeliveries.add(ackId)) this.#deliver(delivery);
      else this.emit('duplicate', delivery);
      this.#acks.add(ackId);
    },
    pong: (at) => this.emit('pong', at),
    ackResult: (ack) => this.#sends.acknowledged(ack),
    relayError: (report: RelayErrorReport, clientMsgId?: string) => {
      this.emit('relayError', report);
      if (report.code === ErrorCode.TokenExpired) {
        // The relay closes this connection; the same token would be refused (403): stop and report
        // it (onError) instead of reconnecting with it. Never settles a send as refused.
        this.#fail(new TokenExpiredError(report.message));
        return;
      }
      if (clientMsgId === undefined) return;
      if (report.code === ErrorCode.Expired) {
        this.emit('expired', { clientMsgId, message: report.message, raw: report.raw });
      } else if (report.code !== undefined) {
        this.#sends.refused(clientMsgId, report.code, report.message);
      }
    },
  };

  /** A fragment goes to the reassembler (acknowledged once buffered); the whole comes out as one message. */
  #deliver(delivery: Delivery): void {
    if (delivery.operationType !== FRAGMENT_OPERATION) {
      this.emit('message', delivery);
      return;
    }
    const whole = this.#reassembler.add(delivery);
    if (whole) this.emit('message', whole);
  }

  #fail(error: SignerClientError): void {
    this.#terminalError = error;
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    this.#stopWatch();
    const ws = this.#ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) ws.terminate();
    this.#finishClosed(error.message, error);
    this.#closedPromise = Promise.resolve();
  }

  #finishClosed(reason: string, error: SignerClientError | undefined): void {
    if (this.#state === 'closed') return;
    this.#reassembler.clear();
    const dropped = this.#sends.clear(
      error ? new ClientClosedError(`client stopped: ${error.message}`) : new ClientClosedError(),
    );
    const details = dropped > 0 ? `${reason}; ${dropped} queued frame(s) dropped` : reason;
    this.#setState('closed', error ? { reason: details, error } : { reason: details });
    if (error) this.emit('error', error);
    this.#settleConnect?.reject(error ?? new ClientClosedError('client closed before it connected'));
  }

  #reportListenerError(error: unknown, event: string): void {
    const wrapped = error instanceof Error ? error : new Error(String(error));
    if (event === 'error') {
      // An error listener that throws: nowhere left to report; never crash the read loop.
      process.emitWarning(`mpc-relay signer: an error listener threw: ${wrapped.message}`);
      return;
    }
    this.emit('error', new Error(`a '${event}' listener threw: ${wrapped.message}`, { cause: wrapped }));
  }
}

/** A close frame, and a hard stop if the other side never answers it. */
function closeGracefully(ws: WebSocket, reason: string): void {
  ws.close(1000, reason.slice(0, 100));
  const force = setTimeout(() => ws.terminate(), 2_000);
  force.unref();
}
