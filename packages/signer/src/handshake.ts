/**
 * One connection attempt: the WebSocket handshake (token, v2 subprotocol offer) and a summary of
 * how the connection ended, from which the client decides whether and how to reconnect.
 */
import { MAX_MESSAGE_BYTES, PROTOCOL_V2 } from '@mpc-relay/protocol';
import WebSocket from 'ws';
import { HandshakeRefusedError, InvalidUrlError } from './errors.js';
import type { TokenPlacement } from './url.js';

/** Retrying these can succeed (timeout, too early, throttled); other 4xx answers are final. */
const RETRYABLE_HANDSHAKE_STATUSES = new Set([408, 425, 429]);

export interface AttemptSettings {
  url: URL;
  displayUrl: string;
  token: string;
  tokenIn: TokenPlacement;
  offerV2: boolean;
  handshakeTimeoutMs: number;
}

export interface AttemptEnd {
  /** When the connection opened; undefined when the handshake never completed. */
  openedAt?: number;
  /** `closed with CODE (REASON)` for a connection that opened. */
  closeReason?: string;
  /** A 4xx refusal that retrying with the same credentials cannot fix: terminal. */
  refused?: HandshakeRefusedError;
  /** The first failure seen (network error, retryable handshake answer). */
  error?: Error;
  /** v2 was offered and the relay did not echo it: it speaks protocol v1 only. */
  v2Unsupported: boolean;
}

export interface AttemptHooks {
  open(ws: WebSocket): void;
  data(data: WebSocket.RawData, isBinary: boolean): void;
  pong(): void;
  end(ws: WebSocket, end: AttemptEnd): void;
}

/** Starts the handshake; throws InvalidUrlError when `ws` cannot even try. */
export function startAttempt(settings: AttemptSettings, hooks: AttemptHooks): WebSocket {
  const headers: Record<string, string> = {};
  if (settings.tokenIn !== 'query') headers.Authorization = settings.token;
  let ws: WebSocket;
  try {
    ws = new WebSocket(settings.url, settings.offerV2 ? [PROTOCOL_V2] : [], {
      headers,
      handshakeTimeout: settings.handshakeTimeoutMs,
      maxPayload: MAX_MESSAGE_BYTES * 8,
    });
  } catch (error) {
    throw new InvalidUrlError(`cannot connect to ${settings.displayUrl}: ${(error as Error).message}`);
  }
  const end: AttemptEnd = { v2Unsupported: false };

  ws.on('unexpected-response', (request, response) => {
    const status = response.statusCode ?? 0;
    let body = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const error = new HandshakeRefusedError(status, body);
      if (status >= 400 && status < 500 && !RETRYABLE_HANDSHAKE_STATUSES.has(status)) end.refused = error;
      else end.error = error;
      request.destroy();
      ws.terminate();
    };
    // The body explains a refusal; a relay that never ends it must not hold the attempt.
    const timer = setTimeout(finish, 1_000);
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      if (body.length < 1024) body += chunk;
    });
    response.on('end', finish);
    response.on('error', finish);
  });
  ws.on('open', () => {
    end.openedAt = Date.now();
    hooks.open(ws);
  });
  ws.on('message', (data, isBinary) => hooks.data(data, isBinary));
  ws.on('pong', () => hooks.pong());
  ws.on('error', (error) => {
    // `ws` refuses a handshake that does not echo an offered subprotocol: an older relay.
    if (settings.offerV2 && end.openedAt === undefined && /no subprotocol/i.test(error.message)) {
      end.v2Unsupported = true;
      return;
    }
    if (!end.refused) end.error ??= error;
  });
  ws.on('close', (code, reason) => {
    if (end.openedAt !== undefined) {
      const text = reason.toString();
      end.closeReason = text ? `closed with ${code} (${text})` : `closed with ${code}`;
    }
    hooks.end(ws, end);
  });
  return ws;
}
