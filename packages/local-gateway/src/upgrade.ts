import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws';

export const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  410: 'Gone',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

/** Answers the upgrade request with an HTTP error: the handshake fails, the client gets the status. */
export function rejectHandshake(
  socket: Duplex,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * Completes a handshake `$connect` accepted: its `Sec-WebSocket-Protocol` header is the selected
 * subprotocol (none without it) and its other headers go into the 101 response. Answers undefined
 * when ws cannot finish because the client already left.
 */
export type CompleteUpgrade = (
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  connectHeaders: Record<string, string>,
) => WebSocket | undefined;

export function createUpgrader(maxMessageBytes: number, closeTimeoutMs: number): CompleteUpgrade {
  const selectedProtocols = new WeakMap<IncomingMessage, string>();
  const extraHeaders = new WeakMap<IncomingMessage, Record<string, string>>();
  // closeTimeout is an option of ws 8.23 that @types/ws does not declare yet.
  const options: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: maxMessageBytes,
    closeTimeout: closeTimeoutMs,
    handleProtocols: (_protocols, req) => selectedProtocols.get(req) ?? false,
  };
  const wss = new WebSocketServer(options);
  wss.on('headers', (headers, req) => {
    const extra = extraHeaders.get(req);
    if (!extra) return;
    for (const [name, value] of Object.entries(extra)) headers.push(`${name}: ${value}`);
  });
  return (req, socket, head, connectHeaders) => {
    const protocolHeader = Object.entries(connectHeaders).find(
      ([k]) => k.toLowerCase() === 'sec-websocket-protocol',
    );
    if (protocolHeader) selectedProtocols.set(req, protocolHeader[1]);
    const extra = Object.fromEntries(
      Object.entries(connectHeaders).filter(
        ([k]) => !/^(sec-websocket-|connection$|upgrade$|content-length$)/i.test(k),
      ),
    );
    if (Object.keys(extra).length > 0) extraHeaders.set(req, extra);
    let upgraded: WebSocket | undefined;
    // Synchronous in ws 8 without verifyClient: the callback has run (or never will) on return.
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = ws;
    });
    return upgraded;
  };
}
