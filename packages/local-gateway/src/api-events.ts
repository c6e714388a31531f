import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Connection } from './connection.js';
import { awsLikeId, requestTime } from './ids.js';

/** The API the events come from. */
export interface ApiStage {
  apiId: string;
  stage: string;
}

/** What API Gateway takes from the upgrade request into the authorizer and `$connect` events. */
export interface UpgradeRequest {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  /** Header values by lower-cased name (last value), as the client sent them. */
  lowerHeaders: Record<string, string>;
  queryStringParameters: Record<string, string>;
  multiValueQueryStringParameters: Record<string, string[]>;
  /** The query as sent (identity sources read the first value of a name). */
  searchParams: URLSearchParams;
  sourceIp: string;
}

export function readUpgradeRequest(req: IncomingMessage, url: URL): UpgradeRequest {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    pairs.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  }
  const { single: headers, multi: multiValueHeaders } = collect(pairs);
  const lowerHeaders: Record<string, string> = {};
  for (const [name, value] of pairs) defineKey(lowerHeaders, name.toLowerCase(), value);
  const sourceIp = (req.socket as Socket).remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';
  // Added by API Gateway's front end, like on AWS.
  headers['X-Forwarded-For'] = sourceIp;
  multiValueHeaders['X-Forwarded-For'] = [sourceIp];
  headers['X-Forwarded-Proto'] = 'http';
  multiValueHeaders['X-Forwarded-Proto'] = ['http'];
  const query = collect(url.searchParams);
  return {
    headers,
    multiValueHeaders,
    lowerHeaders,
    queryStringParameters: query.single,
    multiValueQueryStringParameters: query.multi,
    searchParams: url.searchParams,
    sourceIp,
  };
}

/**
 * Sets `name` as an own data property, as JSON.parse does on AWS: names such as `__proto__`,
 * `constructor` or `toString` are ordinary keys (assignment would hit the prototype instead).
 */
function defineKey<T>(target: Record<string, T>, name: string, value: T): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

/** API Gateway's two views of repeated names: the last value, and every value in order. */
function collect(pairs: Iterable<[string, string]>): {
  single: Record<string, string>;
  multi: Record<string, string[]>;
} {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of pairs) {
    defineKey(single, name, value);
    const values = Object.hasOwn(multi, name) ? (multi[name] as string[]) : [];
    values.push(value);
    defineKey(multi, name, values);
  }
  return { single, multi };
}

/** The request parts only the authorizer and `$connect` get; query fields are absent without a query. */
function requestParts(request: UpgradeRequest) {
  const { headers, multiValueHeaders, queryStringParameters, multiValueQueryStringParameters } = request;
  const hasQuery = Object.keys(queryStringParameters).length > 0;
  return {
    headers,
    multiValueHeaders,
    ...(hasQuery ? { queryStringParameters, multiValueQueryStringParameters } : {}),
  };
}

/** `requestContext` shared by every event type; `authorizer` once the authorizer allowed the connection. */
function requestContext(
  api: ApiStage,
  conn: Connection,
  routeKey: string,
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT',
  requestId: string,
) {
  const now = Date.now();
  const context: Record<string, unknown> = {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: requestTime(now),
    messageDirection: 'IN',
    stage: api.stage,
    connectedAt: conn.connectedAt,
    requestTimeEpoch: now,
    identity: { userAgent: conn.userAgent, sourceIp: conn.sourceIp },
    requestId,
    domainName: conn.domainName,
    connectionId: conn.id,
    apiId: api.apiId,
  };
  if (conn.authorizer) context.authorizer = conn.authorizer;
  return context;
}

export function authorizerEvent(
  api: ApiStage,
  conn: Connection,
  request: UpgradeRequest,
  requestId: string,
  methodArn: string,
) {
  const { headers, multiValueHeaders, ...query } = requestParts(request);
  return {
    type: 'REQUEST',
    methodArn,
    headers,
    multiValueHeaders,
    ...query,
    stageVariables: {},
    requestContext: requestContext(api, conn, '$connect', 'CONNECT', requestId),
  };
}

export function connectEvent(api: ApiStage, conn: Connection, request: UpgradeRequest, requestId: string) {
  return {
    ...requestParts(request),
    requestContext: requestContext(api, conn, '$connect', 'CONNECT', requestId),
    isBase64Encoded: false,
  };
}

export function messageEvent(
  api: ApiStage,
  conn: Connection,
  routeKey: string,
  requestId: string,
  body: string,
) {
  return {
    requestContext: { ...requestContext(api, conn, routeKey, 'MESSAGE', requestId), messageId: awsLikeId() },
    body,
    isBase64Encoded: false,
  };
}

export function disconnectEvent(
  api: ApiStage,
  conn: Connection,
  requestId: string,
  disconnectStatusCode: number,
  disconnectReason: string,
) {
  return {
    requestContext: {
      ...requestContext(api, conn, '$disconnect', 'DISCONNECT', requestId),
      disconnectStatusCode,
      disconnectReason,
    },
    isBase64Encoded: false,
  };
}
