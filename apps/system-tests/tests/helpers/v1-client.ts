/**
 * v1-protocol clients over raw `ws`: exactly the frames wscat or the original demo's Go client send, plus a
 * small application layer (reconnect, `getConnectionId` after each connect to collect waiting
 * messages, stop-and-wait sends confirmed by a `ping`, retries of refused-as-INTERNAL sends) so
 * that fault tests can state "every message was delivered at least once".
 */
import { PROTOCOL_V2 } from '@mpc-relay/protocol';
import { connectUrl, fullSig, type PeerRef, partialSig } from '@mpc-relay/testing';
import WebSocket from 'ws';
import { DeliveryCounter } from './counter.js';
import { sleep } from './wait.js';

export interface OpenOptions {
  protocols?: string[];
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** One WebSocket connection that records every frame it receives, and waits on them. */
export class V1Socket {
  readonly frames: string[] = [];
  closeCode?: number;
  closeReason?: string;
  readonly protocol: string;
  #listeners = new Set<() => void>();
  #frameListeners = new Set<(text: string, index: number) => void>();

  private constructor(readonly ws: WebSocket) {
    this.protocol = ws.protocol;
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? `<binary ${(data as Buffer).length}>` : data.toString();
      this.frames.push(text);
      for (const listener of this.#frameListeners) listener(text, this.frames.length - 1);
      this.#notify();
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.#notify();
    });
    ws.on('error', () => {});
  }

  static open(url: string, options: OpenOptions = {}): Promise<V1Socket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options.protocols ?? [], {
        headers: options.headers ?? { Authorization: 'Allow' },
        handshakeTimeout: options.timeoutMs ?? 10_000,
      });
      ws.once('open', () => resolve(new V1Socket(ws)));
      ws.once('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(new Error(`handshake refused: HTTP ${res.statusCode}`));
      });
      ws.once('error', reject);
    });
  }

  static openPeer(base: string, peer: PeerRef, options: OpenOptions = {}): Promise<V1Socket> {
    return V1Socket.open(connectUrl(base, peer), options);
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  onFrame(listener: (text: string, index: number) => void): void {
    this.#frameListeners.add(listener);
  }

  send(data: unknown): void {
    this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  /**
   * Settles when `check` does, re-checked on every frame and on close; rejects with `timeout`'s
   * error after `timeoutMs`. `check` returns nothing while the wait goes on.
   */
  #waitFor<T>(
    check: () => { value: T } | { error: Error } | undefined,
    timeoutMs: number,
    timeout: string,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const listener = () => {
        const outcome = check();
        if (outcome === undefined) return;
        done();
        if ('error' in outcome) reject(outcome.error);
        else resolve(outcome.value);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(timeout));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      this.#listeners.add(listener);
      listener();
    });
  }

  /** Resolves with the first frame at index >= `from` matching `match`; rejects on close or timeout. */
  waitFrame(
    match: (text: string) => boolean,
    from = 0,
    timeoutMs = 20_000,
  ): Promise<{ index: number; text: string }> {
    let scanned = from;
    return this.#waitFor<{ index: number; text: string }>(
      () => {
        for (; scanned < this.frames.length; scanned++) {
          const text = this.frames[scanned]!;
          if (match(text)) return { value: { index: scanned, text } };
        }
        return this.closeCode === undefined ? undefined : { error: new ConnectionLost(this.closeCode) };
      },
      timeoutMs,
      `no matching frame within ${timeoutMs} ms`,
    );
  }

  /** Resolves with the close code (bounded). */
  waitClosed(timeoutMs = 20_000): Promise<number> {
    return this.#waitFor<number>(
      () => (this.closeCode === undefined ? undefined : { value: this.closeCode }),
      timeoutMs,
      `connection not closed within ${timeoutMs} ms`,
    );
  }

  terminate(): void {
    this.ws.terminate();
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }
}

export class ConnectionLost extends Error {
  constructor(readonly code: number) {
    super(`connection closed (${code})`);
  }
}

export const isPong = (text: string) => text.startsWith('{"pong":');
export const isConnectionId = (text: string) => /^\{"connectionId":/.test(text);

/** The relay's error frame, or API Gateway's own `{"message":"Forbidden"|"Internal server error",...}`. */
export function errorOf(text: string): { code: string } | undefined {
  if (!text.startsWith('{"error":') && !text.startsWith('{"message":')) return undefined;
  try {
    const json = JSON.parse(text) as { error?: { code?: string }; message?: unknown };
    if (json.error && typeof json.error.code === 'string') return { code: json.error.code };
    if (typeof json.message === 'string' && 'connectionId' in json)
      return { code: `gateway:${json.message}` };
  } catch {}
  return undefined;
}

/** A v2 ack frame `{"ack":{"clientMsgId","messageId","status"}}`. */
export function ackOf(
  text: string,
): { clientMsgId?: string; messageId?: string; status?: string } | undefined {
  if (!text.startsWith('{"ack":')) return undefined;
  try {
    return (JSON.parse(text) as { ack: { clientMsgId?: string; messageId?: string; status?: string } }).ack;
  } catch {
    return undefined;
  }
}

/** An error frame about the send `clientMsgId` (echoed), or a retryable one that echoes nothing. */
function errorFor(text: string, clientMsgId: string): { code: string } | undefined {
  const error = errorOf(text);
  if (!error) return undefined;
  try {
    const json = JSON.parse(text) as { error?: { clientMsgId?: string; action?: string } };
    if (json.error?.clientMsgId === clientMsgId) return error;
    if (json.error?.clientMsgId === undefined && json.error?.action !== 'ack' && RETRYABLE.has(error.code))
      return error;
  } catch {}
  return undefined;
}

/** A v1 delivery `{operationType, from, (to), message}` (or a v2 one, which adds fields). */
export interface V1Delivery {
  operationType: string;
  /** v2 only. */
  messageId?: string;
  from: string;
  to?: string;
  message: { transactionId?: string; [key: string]: unknown };
}

export function deliveryOf(text: string): V1Delivery | undefined {
  if (!text.startsWith('{"operationType":')) return undefined;
  try {
    return JSON.parse(text) as V1Delivery;
  } catch {
    return undefined;
  }
}

/** Codes a v1 application may retry: the relay says the frame was not accepted. */
const RETRYABLE = new Set(['INTERNAL', 'THROTTLED', 'gateway:Internal server error']);

export interface V1PeerOptions {
  /** Bound on one (re)connection: attempts every `retryDelayMs` until then. */
  reconnectWithinMs?: number;
  retryDelayMs?: number;
  /** Bound on the attempts of one confirmed send. */
  maxSendAttempts?: number;
  /** Reconnect on its own when the connection drops (v1 clients such as the Go client do). */
  autoReconnect?: boolean;
  /**
   * Protocol v2 (subprotocol `mpc-relay.v2`): sends carry a `clientMsgId` and are confirmed by the
   * relay's ack (sent again with the same id until then); deliveries are acknowledged and dropped
   * when their `messageId` was already seen, so `received` counts what reached the application.
   */
  v2?: boolean;
}

/**
 * A v1 application: counts deliveries by `message.transactionId`, reconnects (then sends
 * `getConnectionId`, which collects waiting messages), and sends with stop-and-wait: each frame is
 * followed by a `ping`; one connection's frames are handled in order, so an error frame before the
 * pong belongs to the frame, and the pong says it was handled. A frame whose connection died before
 * the pong, or refused as INTERNAL, is sent again (at-least-once).
 */
export class V1Peer {
  socket?: V1Socket;
  readonly received: DeliveryCounter;
  readonly errorFrames: string[] = [];
  /** Confirmed sends that needed more than one attempt. */
  retries = 0;
  connects = 0;
  /** Every delivery frame received, redeliveries included (v2 hands each messageId over once). */
  rawDeliveries = 0;
  /** Every delivery frame received (for diagnostics when a count is wrong). */
  readonly deliveryFrames: string[] = [];
  readonly #seen = new Set<string>();
  #chain: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #options: Required<V1PeerOptions>;
  onDelivery?: (delivery: V1Delivery) => void;

  constructor(
    readonly baseUrl: () => string,
    readonly peer: PeerRef,
    options: V1PeerOptions = {},
  ) {
    this.received = new DeliveryCounter(`${peer.type}:${peer.id}`);
    this.#options = {
      reconnectWithinMs: 30_000,
      retryDelayMs: 100,
      maxSendAttempts: 30,
      autoReconnect: true,
      v2: false,
      ...options,
    };
  }

  /** Runs `work` after everything queued before it (one outstanding exchange per connection). */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work, work);
    this.#chain = next.catch(() => {});
    return next;
  }

  #attach(socket: V1Socket): void {
    socket.onFrame((text) => {
      const delivery = deliveryOf(text);
      if (delivery) {
        this.rawDeliveries += 1;
        this.deliveryFrames.push(text);
        if (this.#options.v2 && typeof delivery.messageId === 'string') {
          if (socket.isOpen) socket.send({ action: 'ack', messageIds: [delivery.messageId] });
          if (this.#seen.has(delivery.messageId)) return;
          this.#seen.add(delivery.messageId);
        }
        const id = delivery.message?.transactionId;
        if (typeof id === 'string') this.received.add(id);
        this.onDelivery?.(delivery);
        return;
      }
      if (errorOf(text)) this.errorFrames.push(text);
    });
    socket.ws.on('close', () => {
      if (this.#options.autoReconnect && !this.#stopped && this.socket === socket) {
        void this.#serial(() => this.#ensureConnected()).catch(() => {});
      }
    });
  }

  async #ensureConnected(): Promise<V1Socket> {
    if (this.socket?.isOpen) return this.socket;
    const deadline = Date.now() + this.#options.reconnectWithinMs;
    let lastError: unknown;
    while (!this.#stopped && Date.now() < deadline) {
      try {
        const socket = await V1Socket.openPeer(
          this.baseUrl(),
          this.peer,
          this.#options.v2 ? { protocols: [PROTOCOL_V2] } : {},
        );
        if (this.#options.v2 && socket.protocol !== PROTOCOL_V2) {
          socket.terminate();
          throw new FatalRefusal(`subprotocol not selected: ${JSON.stringify(socket.protocol)}`);
        }
        this.socket = socket;
        this.connects += 1;
        this.#attach(socket);
        await this.#getConnectionId(socket);
        return socket;
      } catch (error) {
        lastError = error;
        await sleep(this.#options.retryDelayMs);
      }
    }
    throw new Error(
      `${this.peer.type}:${this.peer.id} could not (re)connect: ${String((lastError as Error)?.message ?? lastError)}`,
    );
  }

  /**
   * getConnectionId, asked again (bounded) when the relay answers an error instead (e.g. INTERNAL
   * when its store failed while delivering what waited: what was posted stays and comes again).
   */
  async #getConnectionId(socket: V1Socket): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const mark = socket.frames.length;
      // v2 clients mark it (`"v":2`): what waits comes as v2 envelopes, every unacknowledged one.
      socket.send(this.#options.v2 ? { action: 'getConnectionId', v: 2 } : { action: 'getConnectionId' });
      const { text } = await socket.waitFrame(
        (frame) => isConnectionId(frame) || errorOf(frame) !== undefined,
        mark,
        20_000,
      );
      if (isConnectionId(text)) return (JSON.parse(text) as { connectionId: string }).connectionId;
      if (attempt >= this.#options.maxSendAttempts) throw new Error(`getConnectionId refused: ${text}`);
      await sleep(this.#options.retryDelayMs);
    }
  }

  /** Connects (bounded retries) and sends getConnectionId. */
  connect(): Promise<V1Socket> {
    return this.#serial(() => this.#ensureConnected());
  }

  /** getConnectionId on the current connection (reconnecting first if needed): collects waiting messages. */
  collect(): Promise<string> {
    return this.#serial(async () => this.#getConnectionId(await this.#ensureConnected()));
  }

  /** Sends a frame until the relay handled it without a retryable error; returns the attempts used. */
  sendConfirmed(frame: unknown): Promise<number> {
    return this.#serial(async () => {
      for (let attempt = 1; attempt <= this.#options.maxSendAttempts; attempt++) {
        if (this.#stopped) throw new Error('stopped');
        let socket: V1Socket;
        try {
          socket = await this.#ensureConnected();
        } catch (error) {
          if (attempt === this.#options.maxSendAttempts) throw error;
          continue;
        }
        const mark = socket.frames.length;
        if (this.#options.v2) {
          try {
            const outcome = await this.#sendV2(socket, frame as { clientMsgId?: unknown }, mark);
            if (outcome === 'acked') {
              if (attempt > 1) this.retries += 1;
              return attempt;
            }
            await sleep(this.#options.retryDelayMs);
          } catch (error) {
            if (error instanceof FatalRefusal) throw error;
            if (socket.isOpen) socket.terminate();
          }
          continue;
        }
        try {
          socket.send(frame);
          socket.send({ action: 'ping' });
          const pong = await socket.waitFrame(isPong, mark, 30_000);
          const errors = socket.frames
            .slice(mark, pong.index)
            .map(errorOf)
            .filter((e): e is { code: string } => e !== undefined);
          if (errors.length === 0) {
            if (attempt > 1) this.retries += 1;
            return attempt;
          }
          const fatal = errors.find((e) => !RETRYABLE.has(e.code));
          if (fatal) throw new FatalRefusal(fatal.code);
          await sleep(this.#options.retryDelayMs);
        } catch (error) {
          if (error instanceof FatalRefusal) throw error;
          // Connection lost (or no pong): unknown whether the relay took the frame; send it again.
          if (socket.isOpen) socket.terminate();
        }
      }
      throw new Error(
        `${this.peer.type}:${this.peer.id}: send not confirmed after ${this.#options.maxSendAttempts} attempts`,
      );
    });
  }

  /**
   * v2: sends the frame and waits for the relay's ack of its clientMsgId ('acked'), or an error
   * frame for it ('retry' when retryable: INTERNAL / THROTTLED, also without clientMsgId).
   */
  async #sendV2(
    socket: V1Socket,
    frame: { clientMsgId?: unknown },
    mark: number,
  ): Promise<'acked' | 'retry'> {
    const id = frame.clientMsgId;
    if (typeof id !== 'string') throw new FatalRefusal('a v2 send needs a clientMsgId');
    socket.send(frame);
    const { text } = await socket.waitFrame(
      (t) => ackOf(t)?.clientMsgId === id || errorFor(t, id) !== undefined,
      mark,
      30_000,
    );
    if (ackOf(text)) return 'acked';
    const error = errorFor(text, id)!;
    if (!RETRYABLE.has(error.code)) throw new FatalRefusal(error.code);
    return 'retry';
  }

  /** Drops the connection abruptly (no close frame). With autoReconnect the peer comes back. */
  terminate(): void {
    this.socket?.terminate();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.socket?.terminate();
    await this.#chain.catch(() => {});
  }
}

export class FatalRefusal extends Error {
  constructor(readonly code: string) {
    super(`the relay refused the frame: ${code}`);
  }
}

/**
 * A co-signing pair of v1 applications: the mpc sends PartialSig ids, the cli answers each
 * delivered PartialSig with a FullSig of the same id (every delivery, duplicates included, as a v1
 * cli without deduplication would).
 */
export class V1Pair {
  readonly mpc: V1Peer;
  readonly cli: V1Peer;
  readonly sent: string[] = [];
  readonly replies: Promise<number>[] = [];

  readonly v2: boolean;

  constructor(baseUrl: () => string, name: string, options: V1PeerOptions = {}) {
    this.v2 = options.v2 ?? false;
    this.mpc = new V1Peer(baseUrl, { type: 'mpc', id: `mpc-${name}` }, options);
    this.cli = new V1Peer(baseUrl, { type: 'cli', id: `cli-${name}` }, options);
    this.cli.onDelivery = (delivery) => {
      const id = delivery.message?.transactionId;
      if (delivery.operationType === 'PartialSig' && typeof id === 'string') {
        const reply = fullSig(this.cli.peer.id, id);
        this.replies.push(this.cli.sendConfirmed(this.v2 ? { ...reply, clientMsgId: `fs-${id}` } : reply));
      }
    };
  }

  async connect(): Promise<void> {
    await Promise.all([this.mpc.connect(), this.cli.connect()]);
  }

  /** The mpc's confirmed send of one PartialSig. */
  send(id: string): Promise<number> {
    this.sent.push(id);
    const frame = partialSig(this.mpc.peer.id, this.cli.peer.id, id);
    return this.mpc.sendConfirmed(this.v2 ? { ...frame, clientMsgId: `ps-${id}` } : frame);
  }

  /** Every PartialSig at the cli and every FullSig back at the mpc (at least once). */
  complete(): boolean {
    return this.cli.received.complete(this.sent) && this.mpc.received.complete(this.sent);
  }

  async stop(): Promise<void> {
    await Promise.all([this.mpc.stop(), this.cli.stop()]);
  }
}
