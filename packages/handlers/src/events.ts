import type { PeerIdentity } from '@mpc-relay/protocol';
import { PeerIdSchema, PeerTypeSchema, PROTOCOL_V2 } from '@mpc-relay/protocol';
import type { APIGatewayEventWebsocketRequestContextV2 } from 'aws-lambda';
import { parsePeerList, parseTeams } from './comma-lists.js';

/**
 * What the REQUEST authorizer puts in its context; API Gateway adds it to every later event of the
 * connection as `requestContext.authorizer` (values are strings, numbers or booleans).
 */
export interface AuthorizerContext {
  peerType?: string;
  peerId?: string;
  /** Teams the peer serves, comma separated. */
  teams?: string;
  /**
   * jwt mode: the token's `peers` claim, comma separated: the only counterparts this peer may
   * exchange messages with. Absent: no such restriction. `""`: none at all.
   */
  peers?: string;
  /** The protocol the handshake negotiated: `v1` or `mpc-relay.v2` (from Sec-WebSocket-Protocol). */
  protocol?: string;
  /** jwt mode: the token's `exp` (epoch seconds; a number, or its decimal string). */
  exp?: number | string;
  /** jwt mode: seconds of clock-skew tolerance on `exp` (JWT_CLOCK_SKEW_SECONDS of the authorizer). */
  expSkew?: number | string;
  principalId?: string;
  [key: string]: string | number | boolean | null | undefined;
}

export interface WebSocketRequestContext extends APIGatewayEventWebsocketRequestContextV2 {
  authorizer?: AuthorizerContext | null;
  identity?: { sourceIp?: string; userAgent?: string };
  disconnectStatusCode?: number;
  disconnectReason?: string;
}

/**
 * An API Gateway v2 WebSocket proxy event. Headers and query strings only on `$connect`;
 * `body` only on messages.
 */
export interface WebSocketEvent {
  requestContext: WebSocketRequestContext;
  body?: string | null;
  isBase64Encoded?: boolean;
  headers?: Record<string, string | undefined> | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  stageVariables?: Record<string, string | undefined> | null;
}

/** The Lambda result of a WebSocket route; on a two-way route API Gateway sends `body` to the caller. */
export interface WebSocketResult {
  statusCode: number;
  body?: string;
  headers?: Record<string, string>;
}

/** Case-insensitive header lookup (API Gateway keeps the client's spelling). */
export function header(
  headers: Record<string, string | undefined> | null | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** The subprotocols the client offered (`Sec-WebSocket-Protocol: a, b`). */
export function offeredProtocols(headers: Record<string, string | undefined> | null | undefined): string[] {
  return (header(headers, 'sec-websocket-protocol') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/** The authenticated peer of the connection, from the authorizer context; undefined when absent. */
export function peerFromContext(requestContext: WebSocketRequestContext): PeerIdentity | undefined {
  const context = requestContext.authorizer;
  if (!context) return undefined;
  const type = PeerTypeSchema.safeParse(context.peerType);
  const id = PeerIdSchema.safeParse(context.peerId);
  return type.success && id.success ? { type: type.data, id: id.data } : undefined;
}

/** A context number: API Gateway may hand numbers on as strings, so a decimal string counts too. */
function contextNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

/**
 * jwt mode: the moment (epoch ms) after which the connection's token is expired: `exp` plus the
 * authorizer's clock-skew tolerance (`expSkew`), so a token is refused after connect exactly when
 * the authorizer would refuse it at a handshake. Undefined without `exp` (static mode).
 */
export function tokenDeadlineMs(requestContext: WebSocketRequestContext | undefined): number | undefined {
  const exp = contextNumber(requestContext?.authorizer?.exp);
  if (exp === undefined) return undefined;
  const skew = contextNumber(requestContext?.authorizer?.expSkew) ?? 0;
  return (exp + skew) * 1000;
}

/** The teams of the connection's peer (`teams` in the authorizer context, jwt mode); [] when none. */
export function teamsFromContext(requestContext: WebSocketRequestContext): string[] {
  return parseTeams(requestContext.authorizer?.teams);
}

/**
 * The token's `peers` claim of the connection (jwt mode): the counterparts it may exchange messages
 * with; undefined when the token carries none (no restriction).
 */
export function peersFromContext(requestContext: WebSocketRequestContext): string[] | undefined {
  const value = requestContext.authorizer?.peers;
  if (typeof value !== 'string') return undefined;
  return parsePeerList(value);
}

/**
 * The protocol of the sender's own connection: the authorizer context says which one its handshake
 * negotiated; without it (a connection opened before the relay recorded it), a frame with a
 * `clientMsgId` comes from a v2 client.
 */
export function protocolFromContext(
  requestContext: WebSocketRequestContext,
  hasClientMsgId: boolean,
): string {
  const value = requestContext.authorizer?.protocol;
  if (value === PROTOCOL_V2 || value === 'v1') return value;
  return hasClientMsgId ? PROTOCOL_V2 : 'v1';
}
