/**
 * A tiny WebSocket server the tests control: it plays the relay's part of the protocol
 * (connection id, pong), refuses handshakes on demand, records every frame, drops connections.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface FakeConnection {
  id: string;
  socket: WebSocket;
  request: IncomingMessage;
  url: URL;
  /** The negotiated subprotocol ('' when none). */
  protocol: string;
  frames: string[];
  pings: number;
}

export interface FakeRelayOptions {
  /** Status to refuse handshakes with (401/403/...), or undefined to accept. */
  refuseWith?: (request: IncomingMessage) => number | undefined;
  /** Answer `getConnectionId` and `ping` like the relay (default true). */
  answer?: boolean;
  /** Answer WebSocket pings with pongs (default true). */
  autoPong?: boolean;
  /** Called for every frame received (after the built-in answers). */
  onFrame?: (connection: FakeConnection, text: string) => void;
  /** Echo the `mpc-relay.v2` subprotocol when offered (default false: a v1 relay echoes nothing). */
  v2?: boolean;
}

export class FakeRelay {
  readonly connections: FakeConnection[] = [];
  upgradeAttempts = 0;
  #server!: WebSocketServer;
  #counter = 0;
  #waiters: (() => void)[] = [];

  constructor(private readonly options: FakeRelayOptions = {}) {}

  async start(port = 0): Promise<this> {
    this.#server = new WebSocketServer({
      port,
      host: '127.0.0.1',
      autoPong: this.options.autoPong ?? true,
      handleProtocols: (protocols) =>
        this.options.v2 && protocols.has('mpc-relay.v2') ? 'mpc-relay.v2' : false,
      verifyClient: (info, done) => {
        this.upgradeAttempts += 1;
        const status = this.options.refuseWith?.(info.req);
        if (status !== undefined) done(false, status, status === 401 ? 'Unauthorized' : 'Forbidden');
        else done(true);
      },
    });
    await new Promise<void>((resolve) => this.#server.once('listening', () => resolve()));
    this.#server.on('connection', (socket, request) => {
      const connection: FakeConnection = {
        id: `conn-${++this.#counter}`,
        socket,
        request,
        url: new URL(request.url ?? '/', 'ws://localhost'),
        protocol: socket.protocol,
        frames: [],
        pings: 0,
      };
      this.connections.push(connection);
      socket.on('ping', () => {
        connection.pings += 1;
        this.#notify();
      });
      socket.on('message', (data) => {
        const text = data.toString();
        connection.frames.push(text);
        if (this.options.answer ?? true) {
          const action = (JSON.parse(text) as { action?: string }).action;
          if (action === 'getConnectionId') socket.send(JSON.stringify({ connectionId: connection.id }));
          if (action === 'ping') socket.send(JSON.stringify({ pong: Date.now() }));
        }
        this.options.onFrame?.(connection, text);
        this.#notify();
      });
      socket.on('close', () => this.#notify());
      this.#notify();
    });
    return this;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/production`;
  }

  get last(): FakeConnection {
    const connection = this.connections.at(-1);
    if (!connection) throw new Error('no connection yet');
    return connection;
  }

  /** Every frame received on every connection, in order, excluding getConnectionId and ping. */
  sendServerFrames(): Record<string, unknown>[] {
    return this.connections
      .flatMap((connection) => connection.frames)
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .filter((frame) => frame.action === 'sendServer');
  }

  /** Waits until `predicate` holds, checking on every server event (bounded). */
  async waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Drops every open connection abruptly (no close frame), like a crashed relay. */
  dropAll(): void {
    for (const connection of this.connections) connection.socket.terminate();
  }

  async stop(): Promise<void> {
    for (const client of this.#server.clients) client.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #notify(): void {
    const waiters = this.#waiters.splice(0);
    for (const waiter of waiters) waiter();
  }
}

/** Waits for a condition polled every 10 ms (bounded); for client-side state. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
