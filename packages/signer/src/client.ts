/**
 * RelayClient: one peer's connection to the relay (a cli co-signer or an mpc), kept alive and
 * re-established on its own, with an outbox so that what is sent while disconnected goes out, in
 * order, once connected again. See README.md for the delivery semantics.
 */
import {
  decodeClientFrame,
  decodeRelayFrame,
  ErrorCode,
  type FrameIssue,
  MAX_ACK_IDS,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BYTES,
  type PeerIdentity,
  PeerIdSchema,
  PROTOCOL_V2,
  PROTOCOL_V2_MARKER,
  type RelayFrame,
  utf8Length,
} from '@mpc-relay/protocol';
import WebSocket from 'ws';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import { TypedEmitter } from './emitter.js';
import {
  ClientClosedError,
  HandshakeRefusedError,
  InvalidSendError,
  InvalidUrlError,
  RelayUnreachableError,
  SendRefusedError,
  type SignerClientError,
} from './errors.js';
import { DEFAULT_KEEPALIVE, Keepalive, type KeepaliveOptions } from './keepalive.js';
import { Outbox, type SendResult } from './outbox.js';
import { buildConnectUrl, redactUrl, type TokenPlacement } from './url.js';

/** The seed's static authorizer accepts the token `Allow`. */
export const DEFAULT_TOKEN = 'Allow';

/** API Gateway closes a connection after 2 hours; the client reconnects a little before. */
export const DEFAULT_MAX_CONNECTION_AGE_MS = 115 * 60_000;

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

/** A message the relay delivered from the other peer (seed shapes, or v2 with its ids). */
export interface Delivery {
  operationType: string;
  from: string;
  /** Present on deliveries to an mpc (`{operationType, from, to, message}`). */
  to?: string;
  message: unknown;
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
  /** Protocol v2: a delivery dropped because it was already handed to the application (by messageId). */
  duplicate: (delivery: Delivery) => void;
}

/**
 * `v2`: offer the `mpc-relay.v2` subprotocol; when the relay echoes it, sends carry a `clientMsgId`
 * and settle on the relay's ack result (resent after a reconnect until then, duplicates suppressed
 * by the relay), deliveries are acknowledged and deduplicated by `messageId`. When the handshake
 * does not echo it (an older relay), the client reconnects at once without offering it and speaks
 * the seed protocol. `seed`: the seed protocol only.
 */
export type ProtocolChoice = 'v2' | 'seed';

export interface ReconnectOptions extends BackoffOptions {
  /** Reconnect on its own after a connection is lost. Default true. */
  enabled: boolean;
  /**
   * Most consecutive failed attempts (connections that failed, or lived shorter than
   * `stableAfterMs`) before giving up with RelayUnreachableError. Default Infinity.
   */
  maxAttempts: number;
  /** Retry when the very first connection attempt fails. Default true; the command sets false. */
  retryInitialConnect: boolean;
  /** A connection that lived at least this long resets the failure count. Default 5 s. */
  stableAfterMs: number;
}

export const DEFAULT_RECONNECT: ReconnectOptions = {
  ...DEFAULT_BACKOFF,
  enabled: true,
  maxAttempts: Number.POSITIVE_INFINITY,
  retryInitialConnect: true,
  stableAfterMs: 5_000,
};

export interface RelayClientOptions {
  /** The relay's base URL: `ws://HOST:PORT/STAGE` or `wss://API.execute-api.REGION.amazonaws.com/STAGE`. */
  url: string;
  /** Who this client is: `{type: 'cli', id}` or `{type: 'mpc', id}`. */
  peer: PeerIdentity;
  /** The token; default `Allow` (the seed's static authorizer). */
  token?: string;
  /** `header` (Authorization, default), `query` (`?token=`, where headers are impossible) or `both`. */
  tokenIn?: TokenPlacement;
  reconnect?: Partial<ReconnectOptions>;
  keepalive?: Partial<KeepaliveOptions>;
  /** Reconnect proactively once a connection is this old (API Gateway's limit is 2 h). Default 115 min. */
  maxConnectionAgeMs?: number;
  /** Most frames kept in the outbox while disconnected. Default 1,000. */
  maxOutboxEntries?: number;
  /** Handshake timeout per attempt. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** Source of randomness for the jitter (tests). */
  random?: () => number;
  /** `v2` (acknowledged delivery, falls back to seed) or `seed`. Default `seed` (see README). */
  protocol?: ProtocolChoice;
  /** v2: how many recent delivery message ids are remembered to drop duplicates. Default 10,000. */
  dedupeCacheSize?: number;
  /**
   * v2: longest time without a data frame before a `{"action":"ping","v":2}`, which also makes the
   * relay resend unacknowledged messages (its REDELIVERY_DELAY_SECONDS applies). Default 60 s.
   */
  redeliveryCheckMs?: number;
}

export type { SendResult };

export interface SendRequest {
  operationType: string;
  message: unknown;
  /** Required for an mpc (the cli to deliver to: `cliToMpc: {cliId: ownId}`); refused for a cli. */
  cliId?: string;
}

const RETRYABLE_HANDSHAKE_STATUSES = new Set([408, 425, 429]);

function describeClose(code: number, reason: string): string {
  return reason ? `closed with ${code} (${reason})` : `closed with ${code}`;
}

function cut(text: string, max = 1000): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export class RelayClient extends TypedEmitter<RelayClientEvents> {
  readonly peer: PeerIdentity;
  readonly url: URL;
  /** The URL without secrets, for logs. */
  readonly displayUrl: string;

  readonly #token: string;
  readonly #tokenIn: TokenPlacement;
  readonly #reconnect: ReconnectOptions;
  readonly #keepaliveOptions: KeepaliveOptions;
  readonly #maxAgeMs: number;
  readonly #handshakeTimeoutMs: number;
  readonly #random: () => number;
  readonly #outbox: Outbox;
  readonly #protocolChoice: ProtocolChoice;
  readonly #dedupeCacheSize: number;
  readonly #redeliveryCheckMs: number;
  /** Offer the v2 subprotocol on the next handshake (false after a relay did not echo it). */
  #offerV2: boolean;
  /** The current connection speaks v2. */
  #v2 = false;
  /** Recent delivery message ids (insertion ordered: the oldest is evicted first). */
  readonly #seen = new Map<string, true>();
  #pendingAcks: string[] = [];
  #ackScheduled = false;
  #retryFlushTimer: NodeJS.Timeout | undefined;

  #state: ConnectionState = 'idle';
  #ws: WebSocket | undefined;
  #keepalive: Keepalive | undefined;
  #ageTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #everOpened = false;
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
    this.#token = options.token ?? DEFAULT_TOKEN;
    this.#tokenIn = options.tokenIn ?? 'header';
    this.url = buildConnectUrl(options.url, this.peer, this.#token, this.#tokenIn);
    this.displayUrl = redactUrl(this.url);
    this.#reconnect = { ...DEFAULT_RECONNECT, ...options.reconnect };
    this.#keepaliveOptions = { ...DEFAULT_KEEPALIVE, ...options.keepalive };
    this.#maxAgeMs = options.maxConnectionAgeMs ?? DEFAULT_MAX_CONNECTION_AGE_MS;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.#random = options.random ?? Math.random;
    this.#outbox = new Outbox({ maxEntries: options.maxOutboxEntries ?? 1000 });
    this.#protocolChoice = options.protocol ?? 'seed';
    this.#offerV2 = this.#protocolChoice === 'v2';
    this.#dedupeCacheSize = options.dedupeCacheSize ?? 10_000;
    this.#redeliveryCheckMs = options.redeliveryCheckMs ?? 60_000;
  }

  /** The protocol of the current connection (`v2` once the relay echoed it), undefined when closed. */
  get protocol(): 'v2' | 'seed' | undefined {
    if (!this.#ws || this.#state !== 'open') return undefined;
    return this.#v2 ? 'v2' : 'seed';
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
    return this.#outbox.size;
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
   * Sends a message to the other peer through the relay's `sendServer` route, building the seed's
   * frame: `sourceId` is this client's own id; an mpc names the cli (`cliToMpc: {cliId: ownId}`).
   * The frame is validated first (throws InvalidSendError), then queued in the outbox: written now
   * if connected, or after the next reconnect. Seed connection: the promise resolves once the frame
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
    const seedText = this.#buildSendServer(request);
    const { done } = this.#outbox.enqueue(
      (clientMsgId) => this.#buildSendServer(request, clientMsgId),
      seedText,
    );
    this.#flush();
    return done;
  }

  /**
   * Closes the connection for good: no reconnect; frames still queued are dropped and their
   * promises rejected with ClientClosedError. Resolves once the socket is closed.
   */
  close(reason = 'client closed'): Promise<void> {
    if (this.#closedPromise) return this.#closedPromise;
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#retryFlushTimer);
    this.#stopConnectionTimers();
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
      else {
        ws.close(1000, reason.slice(0, 100));
        const force = setTimeout(() => ws.terminate(), 2_000);
        force.unref();
      }
    });
    return this.#closedPromise;
  }

  #buildSendServer(request: SendRequest, clientMsgId?: string): string {
    const { operationType, message, cliId } = request;
    const id = clientMsgId === undefined ? {} : { clientMsgId };
    let frame: Record<string, unknown>;
    if (this.peer.type === 'mpc') {
      if (cliId === undefined) throw new InvalidSendError('an mpc must name the cli to send to (cliId)');
      frame = {
        action: 'sendServer',
        sourceId: this.peer.id,
        cliToMpc: { [cliId]: this.peer.id },
        operationType,
        message,
        ...id,
      };
    } else {
      if (cliId !== undefined) {
        throw new InvalidSendError('a cli cannot name a target: the relay answers the mpc that contacted it');
      }
      frame = { action: 'sendServer', sourceId: this.peer.id, operationType, message, ...id };
    }
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch (error) {
      throw new InvalidSendError(`message is not JSON-serialisable: ${(error as Error).message}`);
    }
    const size = utf8Length(text);
    if (size > MAX_FRAME_BYTES) {
      throw new InvalidSendError(
        `frame is ${size} bytes; API Gateway closes connections on frames over ${MAX_FRAME_BYTES} bytes`,
      );
    }
    const decoded = decodeClientFrame(text);
    if (!decoded.ok) throw new InvalidSendError(decoded.error.message);
    return text;
  }

  #setState(state: ConnectionState, details: Omit<StateChange, 'state' | 'previous'> = {}): void {
    const previous = this.#state;
    this.#state = state;
    this.emit('state', { state, previous, ...details });
  }

  #openSocket(attempt: number): void {
    if (this.#closing) return;
    this.#setState('connecting', { attempt });
    const headers: Record<string, string> = {};
    if (this.#tokenIn !== 'query') headers.Authorization = this.#token;
    let ws: WebSocket;
    const offeredV2 = this.#offerV2;
    let fallBackToSeed = false;
    try {
      ws = new WebSocket(this.url, offeredV2 ? [PROTOCOL_V2] : [], {
        headers,
        handshakeTimeout: this.#handshakeTimeoutMs,
        maxPayload: MAX_MESSAGE_BYTES * 8,
      });
    } catch (error) {
      this.#fail(new InvalidUrlError(`cannot connect to ${this.displayUrl}: ${(error as Error).message}`));
      return;
    }
    this.#ws = ws;
    let lastError: Error | undefined;
    let refused: HandshakeRefusedError | undefined;
    let openedAt: number | undefined;

    ws.on('unexpected-response', (request, response) => {
      const status = response.statusCode ?? 0;
      let body = '';
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const error = new HandshakeRefusedError(status, body);
        if (status >= 400 && status < 500 && !RETRYABLE_HANDSHAKE_STATUSES.has(status)) refused = error;
        else lastError = error;
        request.destroy();
        ws.terminate();
      };
      const timer = setTimeout(finish, 1_000);
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < 1024) body += chunk;
      });
      response.on('end', finish);
      response.on('error', finish);
    });

    ws.on('open', () => {
      if (this.#closing) {
        ws.close(1000, 'client closed');
        return;
      }
      openedAt = Date.now();
      this.#everOpened = true;
      this.#connectionId = undefined;
      this.#v2 = ws.protocol === PROTOCOL_V2;
      this.#setState('open', { attempt });
      this.#startConnectionTimers(ws);
      // v2: the marker tells the relay to resend every unacknowledged message to this connection.
      this.#write(
        ws,
        JSON.stringify(
          this.#v2 ? { action: 'getConnectionId', v: PROTOCOL_V2_MARKER } : { action: 'getConnectionId' },
        ),
      );
      this.#flush();
      this.#settleConnect?.resolve();
    });

    ws.on('message', (data, isBinary) => {
      this.#keepalive?.markAlive();
      this.#receive(data, isBinary);
    });
    ws.on('pong', () => this.#keepalive?.markAlive());
    ws.on('error', (error) => {
      // An older relay answered the handshake without the v2 subprotocol: speak seed from now on.
      if (offeredV2 && openedAt === undefined && /no subprotocol/i.test(error.message)) {
        fallBackToSeed = true;
        this.#offerV2 = false;
        return;
      }
      if (!refused) lastError = lastError ?? error;
    });
    ws.on('close', (code, reasonBuffer) => {
      if (this.#ws === ws) this.#ws = undefined;
      this.#stopConnectionTimers();
      this.#connectionId = undefined;
      // v2: written but unacknowledged frames go out again (same clientMsgId) on the next connection.
      if (openedAt !== undefined && this.#v2) this.#outbox.requeueInFlight();
      this.#pendingAcks = [];
      if (this.#closing) return; // close() finishes the job
      if (fallBackToSeed && !refused) {
        this.#setState('reconnecting', {
          attempt: 1,
          delayMs: 0,
          reason: 'the relay does not speak protocol v2: falling back to the seed protocol',
        });
        this.#openSocket(attempt);
        return;
      }
      if (refused) {
        this.#fail(refused);
        return;
      }
      const reason = openedAt !== undefined ? describeClose(code, reasonBuffer.toString()) : undefined;
      const lived = openedAt === undefined ? 0 : Date.now() - openedAt;
      const proactive = ws === this.#proactiveSocket;
      this.#afterDisconnect({ lived, opened: openedAt !== undefined, proactive, error: lastError, reason });
    });
  }

  #afterDisconnect(info: {
    lived: number;
    opened: boolean;
    proactive: boolean;
    error?: Error;
    reason?: string;
  }): void {
    const reason = info.reason ?? info.error?.message ?? 'connection failed';
    const errorDetails = info.error ? { error: info.error } : {};
    if (info.proactive) {
      this.#failures = 0;
      this.#setState('reconnecting', {
        attempt: 1,
        delayMs: 0,
        reason: 'proactive reconnect before the 2 h limit',
      });
      this.#openSocket(1);
      return;
    }
    if (!this.#reconnect.enabled) {
      this.#fail(new RelayUnreachableError(1, info.error ?? new Error(reason)));
      return;
    }
    if (!this.#everOpened && !this.#reconnect.retryInitialConnect) {
      this.#fail(new RelayUnreachableError(1, info.error ?? new Error(reason)));
      return;
    }
    if (info.opened && info.lived >= this.#reconnect.stableAfterMs) this.#failures = 0;
    this.#failures += 1;
    if (this.#failures > this.#reconnect.maxAttempts) {
      this.#fail(new RelayUnreachableError(this.#failures, info.error ?? new Error(reason)));
      return;
    }
    const attempt = this.#failures;
    const delayMs = backoffDelay(attempt, this.#reconnect, this.#random);
    this.#setState('reconnecting', { attempt, delayMs, reason, ...errorDetails });
    this.#retryTimer = setTimeout(() => this.#openSocket(attempt + 1), delayMs);
  }

  #startConnectionTimers(ws: WebSocket): void {
    const v2 = this.#v2;
    const options = v2
      ? {
          ...this.#keepaliveOptions,
          appPingIntervalMs:
            this.#keepaliveOptions.appPingIntervalMs > 0
              ? Math.min(this.#keepaliveOptions.appPingIntervalMs, this.#redeliveryCheckMs)
              : this.#redeliveryCheckMs,
        }
      : this.#keepaliveOptions;
    this.#keepalive = new Keepalive(options, {
      sendPing: () => {
        if (ws.readyState === WebSocket.OPEN) ws.ping();
      },
      sendAppPing: () => {
        // v2: the periodic ping doubles as the redelivery timer (the relay resends what is unacked).
        const ping = v2 ? { action: 'ping', v: PROTOCOL_V2_MARKER } : { action: 'ping' };
        if (ws.readyState === WebSocket.OPEN) this.#write(ws, JSON.stringify(ping));
      },
      onDead: () => ws.terminate(),
    });
    this.#keepalive.start();
    if (this.#maxAgeMs > 0 && Number.isFinite(this.#maxAgeMs)) {
      this.#ageTimer = setTimeout(() => {
        this.#proactiveSocket = ws;
        ws.close(1000, 'proactive reconnect');
        const force = setTimeout(() => ws.terminate(), 2_000);
        force.unref();
      }, this.#maxAgeMs);
      this.#ageTimer.unref();
    }
  }

  #stopConnectionTimers(): void {
    this.#keepalive?.stop();
    this.#keepalive = undefined;
    clearTimeout(this.#ageTimer);
    this.#ageTimer = undefined;
  }

  /** Writes a control frame (getConnectionId, ping) directly: not through the outbox. */
  #write(ws: WebSocket, text: string): void {
    this.#keepalive?.markDataSent();
    ws.send(text, () => {});
    this.emit('frameOut', text);
  }

  /** Writes every pending outbox entry, in order, if a connection is open. */
  #flush(): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.#state !== 'open') return;
    const v2 = this.#v2;
    for (let entry = this.#outbox.take(); entry; entry = this.#outbox.take()) {
      const id = entry.clientMsgId;
      const text = v2 ? entry.text : entry.seedText;
      this.#keepalive?.markDataSent();
      ws.send(text, (error) => {
        if (error) {
          // Never written: back into the outbox, in order, for the next connection.
          this.#outbox.requeue(id);
          this.#flush();
        } else if (!v2) {
          this.#outbox.settle(id);
        }
        // v2: settled by the relay's ack result (#dispatch), resent after a reconnect until then.
      });
      this.emit('frameOut', text);
    }
  }

  #receive(data: WebSocket.RawData, isBinary: boolean): void {
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      this.emit('badFrame', {
        raw: `<binary ${buffer.length} bytes>`,
        code: 'BINARY_FRAME',
        message: 'binary frames are not part of the protocol',
      });
      return;
    }
    const text = buffer.toString('utf8');
    this.emit('frameIn', text);
    const decoded = decodeRelayFrame(text);
    if (!decoded.ok) {
      this.emit('badFrame', {
        raw: cut(text),
        code: decoded.error.code,
        message: decoded.error.message,
        ...(decoded.error.issues ? { issues: decoded.error.issues } : {}),
      });
      return;
    }
    this.#dispatch(decoded.value, text);
  }

  #dispatch(frame: RelayFrame, raw: string): void {
    switch (frame.kind) {
      case 'connectionId':
        this.#connectionId = frame.frame.connectionId;
        this.emit('connectionId', frame.frame.connectionId);
        return;
      case 'cliDelivery':
        this.emit('message', { ...frame.frame, raw });
        return;
      case 'mpcDelivery':
        this.emit('message', { ...frame.frame, raw });
        return;
      case 'v2Delivery': {
        const { operationType, from, to, message, messageId, clientMsgId, sentAt } = frame.frame;
        const delivery: Delivery = {
          operationType,
          from,
          ...(to === undefined ? {} : { to }),
          message,
          messageId,
          ...(clientMsgId === undefined ? {} : { clientMsgId }),
          sentAt,
          raw,
        };
        if (this.#seen.has(messageId)) {
          // Already handed to the application: a redelivery (our ack was lost or late). Ack again.
          this.emit('duplicate', delivery);
        } else {
          this.#remember(messageId);
          this.emit('message', delivery);
        }
        this.#queueAck(messageId);
        return;
      }
      case 'pong':
        this.emit('pong', frame.frame.pong);
        return;
      case 'ack': {
        const { clientMsgId, messageId, status } = frame.frame.ack;
        this.#outbox.settle(clientMsgId, { status, messageId });
        return;
      }
      case 'error': {
        const { code, message, issues, clientMsgId } = frame.frame.error;
        this.emit('relayError', { source: 'relay', code, message, ...(issues ? { issues } : {}), raw });
        if (clientMsgId !== undefined) this.#onSendError(clientMsgId, code, message, raw);
        return;
      }
      case 'gatewayError':
        this.emit('relayError', { source: 'gateway', message: frame.frame.message, raw });
        return;
    }
  }

  /** v2: an error frame naming one of our messages. */
  #onSendError(clientMsgId: string, code: string, message: string, raw: string): void {
    if (code === ErrorCode.Expired) {
      this.emit('expired', { clientMsgId, message, raw });
      return;
    }
    if (!this.#outbox.has(clientMsgId)) return;
    if (code === ErrorCode.Internal || code === ErrorCode.Throttled) {
      // Not accepted, safe to retry: the same frame (same clientMsgId) again shortly.
      if (this.#outbox.requeue(clientMsgId)) {
        clearTimeout(this.#retryFlushTimer);
        this.#retryFlushTimer = setTimeout(() => this.#flush(), 200);
        this.#retryFlushTimer.unref();
      }
      return;
    }
    this.#outbox.fail(clientMsgId, new SendRefusedError(code, message));
  }

  #remember(messageId: string): void {
    this.#seen.set(messageId, true);
    while (this.#seen.size > this.#dedupeCacheSize) {
      const oldest = this.#seen.keys().next().value;
      if (oldest === undefined) break;
      this.#seen.delete(oldest);
    }
  }

  /** v2: acknowledges delivered messages, batched (after the listeners ran), up to 100 ids a frame. */
  #queueAck(messageId: string): void {
    this.#pendingAcks.push(messageId);
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    setImmediate(() => {
      this.#ackScheduled = false;
      const ids = this.#pendingAcks.splice(0);
      const ws = this.#ws;
      // Not connected: the relay resends them after the reconnect, and they are acked then.
      if (!ws || ws.readyState !== WebSocket.OPEN || !this.#v2) return;
      for (let start = 0; start < ids.length; start += MAX_ACK_IDS) {
        const text = JSON.stringify({ action: 'ack', messageIds: ids.slice(start, start + MAX_ACK_IDS) });
        ws.send(text, () => {});
        this.emit('frameOut', text);
      }
    });
  }

  #fail(error: SignerClientError): void {
    this.#terminalError = error;
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    this.#stopConnectionTimers();
    const ws = this.#ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) ws.terminate();
    this.#finishClosed(error.message, error);
    this.#closedPromise = Promise.resolve();
  }

  #finishClosed(reason: string, error: SignerClientError | undefined): void {
    if (this.#state === 'closed') return;
    const dropped = this.#outbox.clear(
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
