import type { WebSocket } from 'ws';
import type { DisconnectCause } from './events.js';

export interface ConnectionInfo {
  connectionId: string;
  state: 'connecting' | 'open' | 'closed';
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent: string;
  subprotocol?: string;
  authorizer?: Record<string, unknown>;
}

/** One client connection, from the upgrade request until `$disconnect` is queued. */
export interface Connection {
  id: string;
  /** `connecting` while the authorizer and `$connect` run; the WebSocket exists once `open`. */
  state: 'connecting' | 'open' | 'closed';
  ws?: WebSocket;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent: string;
  domainName: string;
  subprotocol?: string;
  /** `requestContext.authorizer` of every event after the authorizer allowed the connection. */
  authorizer?: Record<string, unknown>;
  /** Tail of the connection's events: handlers see its messages one after the other. */
  queue: Promise<void>;
  idleTimer?: NodeJS.Timeout;
  lifeTimer?: NodeJS.Timeout;
  /** Why the gateway closes it; wins over what the client's close frame says. */
  closing?: { code: number; reason: string; cause: DisconnectCause };
}

export function describeConnection(conn: Connection): ConnectionInfo {
  return {
    connectionId: conn.id,
    state: conn.state,
    connectedAt: conn.connectedAt,
    lastActiveAt: conn.lastActiveAt,
    sourceIp: conn.sourceIp,
    userAgent: conn.userAgent,
    ...(conn.subprotocol ? { subprotocol: conn.subprotocol } : {}),
    ...(conn.authorizer ? { authorizer: conn.authorizer } : {}),
  };
}

/** Open and not being closed by the gateway: the management API can reach it. */
export function isLive(conn: Connection): boolean {
  return conn.state === 'open' && !conn.closing;
}

/**
 * Sends text to a client as API Gateway does: text frames of at most maxFrameBytes each. False when
 * the socket can no longer take it (the client already started closing), so a `@connections` POST
 * answers 410 instead of claiming a delivery that never happens.
 */
export function sendToClient(conn: Connection, text: string, maxFrameBytes: number): boolean {
  const ws = conn.ws;
  if (!ws || conn.state !== 'open' || ws.readyState !== ws.OPEN) return false;
  const data = Buffer.from(text, 'utf8');
  if (data.length <= maxFrameBytes) {
    ws.send(data, { binary: false });
    return true;
  }
  for (let offset = 0; offset < data.length; offset += maxFrameBytes) {
    const end = Math.min(offset + maxFrameBytes, data.length);
    ws.send(data.subarray(offset, end), { binary: false, fin: end === data.length });
  }
  return true;
}

/** Starts the closing handshake once; the recorded code, reason and cause go to `$disconnect`. */
export function closeConnection(
  conn: Connection,
  code: number,
  reason: string,
  cause: DisconnectCause,
): void {
  if (conn.state === 'closed' || conn.closing) return;
  conn.closing = { code, reason, cause };
  conn.ws?.close(code, reason);
}
