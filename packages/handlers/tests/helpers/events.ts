import { randomBytes, randomUUID } from 'node:crypto';
import type { PeerIdentity } from '@mpc-relay/protocol';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { WebSocketEvent } from '../../src/events.js';

/** Realistic API Gateway v2 WebSocket events, shaped as AWS sends them. */

export const API_ID = 'eqm3whvj69';
export const DOMAIN = `${API_ID}.execute-api.ap-southeast-1.amazonaws.com`;

/** An AWS-like connection id, e.g. `WyHPAfymhcwCENw=`. */
export function newConnectionId(): string {
  return randomBytes(10).toString('base64');
}

function requestTime(now: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(now.getUTCDate())}/${months[now.getUTCMonth()]}/${now.getUTCFullYear()}:${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())} +0000`;
}

function baseContext(
  routeKey: string,
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT',
  connectionId: string,
  stage: string,
) {
  const now = new Date();
  return {
    routeKey,
    eventType,
    extendedRequestId: randomBytes(8).toString('base64'),
    requestTime: requestTime(now),
    messageDirection: 'IN' as const,
    stage,
    connectedAt: now.getTime() - 1000,
    requestTimeEpoch: now.getTime(),
    identity: { sourceIp: '203.0.113.7', userAgent: 'wscat' },
    requestId: randomBytes(8).toString('base64'),
    domainName: DOMAIN,
    connectionId,
    apiId: API_ID,
    messageId: eventType === 'MESSAGE' ? randomBytes(8).toString('base64') : undefined,
  };
}

export function authorizerContext(peer: PeerIdentity, extra: Record<string, string | number> = {}) {
  return {
    peerType: peer.type,
    peerId: peer.id,
    ...extra,
    principalId: `${peer.type}:${peer.id}`,
    integrationLatency: 12,
  };
}

/** `$connect` with `?type=..&cliId|mpcId=..` and the original demo's `Authorization: Allow`. */
export function connectEvent(options: {
  connectionId: string;
  query: Record<string, string>;
  peer?: PeerIdentity;
  headers?: Record<string, string>;
  stage?: string;
}): WebSocketEvent {
  const headers: Record<string, string> = {
    Authorization: 'Allow',
    Host: DOMAIN,
    'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    'X-Amzn-Trace-Id': `Root=1-${randomUUID()}`,
    'X-Forwarded-For': '203.0.113.7',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
    ...options.headers,
  };
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: options.query,
    multiValueQueryStringParameters: Object.fromEntries(
      Object.entries(options.query).map(([k, v]) => [k, [v]]),
    ),
    requestContext: {
      ...baseContext('$connect', 'CONNECT', options.connectionId, options.stage ?? 'production'),
      ...(options.peer ? { authorizer: authorizerContext(options.peer) } : {}),
    } as WebSocketEvent['requestContext'],
    isBase64Encoded: false,
  };
}

/** A message on a route (`body` as the client sent it). */
export function messageEvent(options: {
  connectionId: string;
  routeKey: string;
  body: string;
  peer?: PeerIdentity;
  /** Extra authorizer context values (e.g. `teams`, `exp`), as the authorizer returned them. */
  context?: Record<string, string | number>;
  stage?: string;
}): WebSocketEvent {
  return {
    requestContext: {
      ...baseContext(options.routeKey, 'MESSAGE', options.connectionId, options.stage ?? 'production'),
      ...(options.peer ? { authorizer: authorizerContext(options.peer, options.context) } : {}),
    } as WebSocketEvent['requestContext'],
    body: options.body,
    isBase64Encoded: false,
  };
}

export function disconnectEvent(options: {
  connectionId: string;
  peer?: PeerIdentity;
  stage?: string;
}): WebSocketEvent {
  return {
    headers: { Host: DOMAIN, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' },
    requestContext: {
      ...baseContext('$disconnect', 'DISCONNECT', options.connectionId, options.stage ?? 'production'),
      disconnectStatusCode: 1001,
      disconnectReason: 'Going away',
      ...(options.peer ? { authorizer: authorizerContext(options.peer) } : {}),
    } as WebSocketEvent['requestContext'],
    isBase64Encoded: false,
  };
}

/** The REQUEST authorizer event API Gateway sends for `$connect`. */
export function authorizerEvent(options: {
  connectionId?: string;
  query: Record<string, string>;
  headers?: Record<string, string>;
}): APIGatewayRequestAuthorizerEvent {
  const connectionId = options.connectionId ?? newConnectionId();
  const headers = { Host: DOMAIN, 'Sec-WebSocket-Version': '13', ...options.headers };
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:ap-southeast-1:123456789012:${API_ID}/production/$connect`,
    resource: '',
    path: '',
    httpMethod: '',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    pathParameters: null,
    queryStringParameters: options.query,
    multiValueQueryStringParameters: Object.fromEntries(
      Object.entries(options.query).map(([k, v]) => [k, [v]]),
    ),
    stageVariables: null,
    requestContext: baseContext('$connect', 'CONNECT', connectionId, 'production') as never,
  };
}
