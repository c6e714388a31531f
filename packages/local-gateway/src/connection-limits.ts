import type { WebSocket } from 'ws';
import { type Connection, closeConnection, isLive } from './connection.js';
import type { GatewayLimits } from './options.js';

/** A close code with the reason text the gateway sends with it. */
interface CloseFrame {
  code: number;
  reason: string;
}

/** Idle timeout, maximum lifetime and shutdown: API Gateway's text for 1001. */
export const GOING_AWAY: CloseFrame = { code: 1001, reason: 'Going away' };
// AWS documents the codes of these two, not their reason texts: ours are marked as such in the README.
const MESSAGE_TOO_BIG: CloseFrame = { code: 1009, reason: 'Message too big' };
const BINARY_FRAME: CloseFrame = { code: 1003, reason: 'Binary frames are not supported' };

export interface SocketListeners {
  /** A complete text message, in arrival order. */
  onMessage(body: string): void;
  onClose(code: number, reason: string): void;
}

/**
 * Puts an upgraded connection under API Gateway's per-connection rules: frame and message size,
 * no binary frames, the idle timeout (reset by data frames only) and the maximum lifetime.
 */
export function superviseSocket(
  conn: Connection,
  ws: WebSocket,
  limits: Required<GatewayLimits>,
  listeners: SocketListeners,
): void {
  // ws closes the socket itself on these violations; recording them first gives $disconnect the code.
  const closingForLimit = (frame: CloseFrame) => {
    conn.closing ??= { ...frame, cause: 'limit' };
  };
  installFrameChecks(ws, limits.maxFrameBytes, closingForLimit);
  ws.on('error', (error) => {
    if ((error as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
      closingForLimit(MESSAGE_TOO_BIG);
  });
  ws.on('message', (data, isBinary) => {
    if (!isLive(conn)) return;
    conn.lastActiveAt = Date.now();
    resetIdleTimer(conn, limits.idleTimeoutMs);
    if (isBinary) {
      closeConnection(conn, BINARY_FRAME.code, BINARY_FRAME.reason, 'limit');
      return;
    }
    // ws hands a Buffer (its default binaryType): decoded in place, not copied first.
    const body = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Buffer.from(data).toString('utf8');
    listeners.onMessage(body);
  });
  ws.on('close', (code, reason) => listeners.onClose(code, reason.toString('utf8')));
  resetIdleTimer(conn, limits.idleTimeoutMs);
  conn.lifeTimer = setTimeout(
    () => closeConnection(conn, GOING_AWAY.code, GOING_AWAY.reason, 'lifetime'),
    limits.maxLifetimeMs,
  );
  conn.lifeTimer.unref?.();
}

export function stopTimers(conn: Connection): void {
  clearTimeout(conn.idleTimer);
  clearTimeout(conn.lifeTimer);
}

function resetIdleTimer(conn: Connection, idleTimeoutMs: number): void {
  // Every data frame restarts it: the same timer, rescheduled, rather than a new one per frame.
  if (conn.idleTimer) {
    conn.idleTimer.refresh();
    return;
  }
  conn.idleTimer = setTimeout(
    () => closeConnection(conn, GOING_AWAY.code, GOING_AWAY.reason, 'idle'),
    idleTimeoutMs,
  );
  conn.idleTimer.unref?.();
}

/**
 * Installs the per-frame checks API Gateway makes and `ws` does not: a frame above
 * `maxFrameBytes` closes with 1009, a binary frame closes with 1003. Hooks into the receiver of
 * one socket (ws 8), right where ws itself checks its message-size limit.
 */
function installFrameChecks(
  ws: WebSocket,
  maxFrameBytes: number,
  onViolation: (frame: CloseFrame) => void,
): void {
  type Receiver = {
    _payloadLength: number;
    _opcode: number;
    haveLength(cb: (err?: Error) => void): void;
    createError(
      ctor: ErrorConstructor,
      message: string,
      prefix: boolean,
      status: number,
      code: string,
    ): Error;
  };
  const receiver = (ws as unknown as { _receiver?: Receiver })._receiver;
  if (!receiver || typeof receiver.haveLength !== 'function') return;
  const original = receiver.haveLength;
  receiver.haveLength = function (this: Receiver, cb: (err?: Error) => void) {
    if (this._opcode === 0x02) {
      onViolation(BINARY_FRAME);
      cb(this.createError(Error, 'Binary frames are not supported', false, 1003, 'WS_ERR_BINARY_FRAME'));
      return;
    }
    if (this._opcode < 0x08 && this._payloadLength > maxFrameBytes) {
      onViolation(MESSAGE_TOO_BIG);
      cb(this.createError(RangeError, 'Frame size exceeded', false, 1009, 'WS_ERR_FRAME_TOO_BIG'));
      return;
    }
    original.call(this, cb);
  };
}
