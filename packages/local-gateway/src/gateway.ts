import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { type AuthorizerOutcome, evaluateAuthorizerResult, missingIdentitySource } from './authorizer.js';
import { runWithEnv } from './env.js';
import { apiLikeId, awsLikeId, requestTime } from './ids.js';
import { createHandlerLoader, type HandlerLoader, type LambdaContext } from './loader.js';

/** A route as the route table of `@mpc-relay/handlers` declares it. */
export interface GatewayRoute {
  routeKey: string;
  handler: string;
  authorized?: boolean;
  twoWay?: boolean;
}

export interface GatewayAuthorizer {
  handler: string;
  /** e.g. `route.request.header.Authorization`, `route.request.querystring.token`. */
  identitySources: readonly string[];
}

export interface GatewayLimits {
  /** Idle connection timeout (AWS: 10 minutes); client data frames reset it. */
  idleTimeoutMs?: number;
  /** Connection duration (AWS: 2 hours). */
  maxLifetimeMs?: number;
  /** Integration timeout (AWS: 29 seconds). */
  handlerTimeoutMs?: number;
  /** WebSocket frame size (AWS: 32 KB); a larger frame closes with 1009. */
  maxFrameBytes?: number;
  /** Message payload size (AWS: 128 KB); a larger message closes with 1009, a larger post gets 413. */
  maxMessageBytes?: number;
}

export interface LocalGatewayOptions {
  host?: string;
  /** 0 picks a free port. Default 3001. */
  port?: number;
  /** Default `production` (the seed's stage). */
  stage?: string;
  /** Folder holding `<handler>/index.mjs` bundles. Default: `dist` of `@mpc-relay/handlers`. */
  handlersDir?: string;
  /**
   * Environment of the handlers: layered over process.env for each invocation's async call tree
   * only, so several gateways in one process keep their own values.
   */
  env?: Record<string, string>;
  /** Picks `AUTHORIZER.identitySources[authMode]`. Default `static`. */
  authMode?: string;
  /** Route table. Default: `ROUTES` of `@mpc-relay/handlers/routes`. */
  routes?: readonly GatewayRoute[];
  /** REQUEST authorizer on `$connect`; null for none. Default: `AUTHORIZER` of the route table. */
  authorizer?: GatewayAuthorizer | null;
  limits?: GatewayLimits;
  /** Region used in ARNs and AWS_REGION. Default `us-east-1`. */
  region?: string;
}

export type DisconnectCause = 'client' | 'idle' | 'lifetime' | 'deleted' | 'limit' | 'shutdown' | 'error';

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

export type RouteOutcome = 'ok' | 'error' | 'timeout' | 'forbidden' | 'refused';

export interface GatewayEvents {
  connect: [
    {
      connectionId: string;
      sourceIp: string;
      query: Record<string, string>;
      subprotocol?: string;
      authorizer?: Record<string, unknown>;
    },
  ];
  connectRefused: [{ connectionId: string; status: number; reason: string }];
  disconnect: [{ connectionId: string; code: number; reason: string; cause: DisconnectCause }];
  /** A message from a client. `body` is given so a logger can pick fields; never log it whole. */
  message: [{ connectionId: string; routeKey: string; bytes: number; requestId: string; body: string }];
  route: [
    {
      connectionId: string;
      routeKey: string;
      handler?: string;
      requestId: string;
      outcome: RouteOutcome;
      durationMs: number;
      status?: number;
      responseBytes?: number;
      error?: string;
    },
  ];
  /** A management API call (`@connections`). */
  management: [{ method: string; connectionId: string; status: number; bytes: number; errorType?: string }];
  /** Unexpected internal problem (never a client error). */
  error: [Error];
}

export interface LocalGateway {
  url: string;
  managementEndpoint: string;
  port: number;
  host: string;
  stage: string;
  apiId: string;
  loader: HandlerLoader;
  /** Open (and opening) connections. */
  connections(): ConnectionInfo[];
  /** The next event of every handler imports its bundle again; open connections stay open. */
  reloadHandlers(): void;
  on<K extends keyof GatewayEvents>(event: K, listener: (...args: GatewayEvents[K]) => void): LocalGateway;
  off<K extends keyof GatewayEvents>(event: K, listener: (...args: GatewayEvents[K]) => void): LocalGateway;
  /** Closes every connection (1001 Going away, `$disconnect` run), then the server. */
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: Required<GatewayLimits> = {
  idleTimeoutMs: 600_000,
  maxLifetimeMs: 7_200_000,
  handlerTimeoutMs: 29_000,
  maxFrameBytes: 32_768,
  maxMessageBytes: 131_072,
};

interface Connection {
  id: string;
  state: 'connecting' | 'open' | 'closed';
  ws?: WebSocket;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent: string;
  domainName: string;
  subprotocol?: string;
  authorizer?: Record<string, unknown>;
  queue: Promise<void>;
  idleTimer?: NodeJS.Timeout;
  lifeTimer?: NodeJS.Timeout;
  closing?: { code: number; reason: string; cause: DisconnectCause };
}

class HandlerTimeout extends Error {}

const STATUS_TEXT: Record<number, string> = {
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

/** Fields API Gateway answers to a caller when it cannot route a message or the integration fails. */
function gatewayFrame(message: string, connectionId: string, requestId: string): string {
  // The exact text API Gateway sends (note the space after "message":).
  return `{"message": ${JSON.stringify(message)}, "connectionId":${JSON.stringify(connectionId)}, "requestId":${JSON.stringify(requestId)}}`;
}

/** Route selection expression `$request.body.action`: the action value, stringified. */
export function selectRouteKey(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const action = (parsed as Record<string, unknown>).action;
  if (action === undefined || action === null) return undefined;
  return typeof action === 'string' ? action : JSON.stringify(action);
}

async function defaultRouteTable(): Promise<{
  routes: readonly GatewayRoute[];
  authorizer: { handler: string; identitySources: Record<string, readonly string[]> };
  handlersDir: string;
}> {
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  const table = await import('@mpc-relay/handlers/routes');
  const require = createRequire(import.meta.url);
  const handlersDir = join(dirname(require.resolve('@mpc-relay/handlers/package.json')), 'dist');
  return { routes: table.ROUTES, authorizer: table.AUTHORIZER, handlersDir };
}

function headersOf(req: IncomingMessage): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  lower: Record<string, string>;
} {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const lower: Record<string, string> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    headers[name] = value;
    const list = multiValueHeaders[name] ?? [];
    list.push(value);
    multiValueHeaders[name] = list;
    lower[name.toLowerCase()] = value;
  }
  return { headers, multiValueHeaders, lower };
}

function rejectHandshake(
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
 * Installs the per-frame checks API Gateway makes and `ws` does not: a frame above
 * `maxFrameBytes` closes with 1009, a binary frame closes with 1003. Hooks into the receiver of
 * one socket (ws 8), right where ws itself checks its message-size limit.
 */
function installFrameChecks(ws: WebSocket, maxFrameBytes: number, onViolation: (code: number) => void): void {
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
      onViolation(1003);
      cb(this.createError(Error, 'Binary frames are not supported', false, 1003, 'WS_ERR_BINARY_FRAME'));
      return;
    }
    if (this._opcode < 0x08 && this._payloadLength > maxFrameBytes) {
      onViolation(1009);
      cb(this.createError(RangeError, 'Frame size exceeded', false, 1009, 'WS_ERR_FRAME_TOO_BIG'));
      return;
    }
    original.call(this, cb);
  };
}

export async function createLocalGateway(options: LocalGatewayOptions = {}): Promise<LocalGateway> {
  const stage = options.stage ?? 'production';
  const host = options.host ?? '127.0.0.1';
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const region = options.region ?? options.env?.AWS_REGION ?? 'us-east-1';
  const accountId = '000000000000';
  const apiId = apiLikeId();

  let routes = options.routes;
  let authorizer = options.authorizer;
  let handlersDir = options.handlersDir;
  if (!routes || authorizer === undefined || !handlersDir) {
    const table = await defaultRouteTable();
    routes ??= table.routes;
    handlersDir ??= table.handlersDir;
    if (authorizer === undefined) {
      const mode = options.authMode ?? 'static';
      const sources = table.authorizer.identitySources[mode];
      if (!sources) throw new Error(`unknown auth mode "${mode}"`);
      authorizer = { handler: table.authorizer.handler, identitySources: sources };
    }
  }
  const routeTable = routes;
  const loader = createHandlerLoader(handlersDir);
  const emitter = new EventEmitter();
  const connections = new Map<string, Connection>();
  const pending = new Set<Promise<unknown>>();
  let closing = false;
  let managementEndpoint = '';
  const env: Record<string, string> = { AWS_REGION: region, ...options.env };

  const emit = <K extends keyof GatewayEvents>(event: K, ...args: GatewayEvents[K]) => {
    if (event === 'error' && emitter.listenerCount('error') === 0) return;
    try {
      emitter.emit(event, ...args);
    } catch {
      // a listener's bug must not break the gateway
    }
  };
  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.add(promise);
    promise.then(
      () => pending.delete(promise),
      () => pending.delete(promise),
    );
    return promise;
  };

  const findRoute = (routeKey: string) => routeTable.find((r) => r.routeKey === routeKey);

  /** Invokes one handler like Lambda does: same process, env set, bounded by the integration timeout. */
  async function invoke(handlerName: string, event: unknown, requestId: string): Promise<unknown> {
    const started = Date.now();
    const functionName = `mpc-relay-${handlerName}`;
    const context: LambdaContext = {
      awsRequestId: requestId,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
      memoryLimitInMB: '256',
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: `local/${apiId}`,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, limits.handlerTimeoutMs - (Date.now() - started)),
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new HandlerTimeout(`${handlerName} timed out after ${limits.handlerTimeoutMs} ms`)),
        limits.handlerTimeoutMs,
      );
    });
    try {
      // The handler (and its module's first evaluation) sees this gateway's env only.
      const run = runWithEnv(env, async () => {
        const handler = await loader.load(handlerName);
        return await handler(event, context);
      });
      run.catch(() => {}); // a late failure after the timeout is not unhandled
      return await Promise.race([run, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  function baseRequestContext(conn: Connection, routeKey: string, eventType: string, requestId: string) {
    const now = Date.now();
    const context: Record<string, unknown> = {
      routeKey,
      eventType,
      extendedRequestId: requestId,
      requestTime: requestTime(now),
      messageDirection: 'IN',
      stage,
      connectedAt: conn.connectedAt,
      requestTimeEpoch: now,
      identity: { userAgent: conn.userAgent, sourceIp: conn.sourceIp },
      requestId,
      domainName: conn.domainName,
      connectionId: conn.id,
      apiId,
    };
    if (conn.authorizer) context.authorizer = conn.authorizer;
    return context;
  }

  /** Sends text to a client as API Gateway does: text frames of at most maxFrameBytes each. */
  function sendToClient(conn: Connection, text: string): void {
    const ws = conn.ws;
    if (!ws || conn.state !== 'open' || ws.readyState !== ws.OPEN) return;
    const data = Buffer.from(text, 'utf8');
    if (data.length <= limits.maxFrameBytes) {
      ws.send(data, { binary: false });
      return;
    }
    for (let offset = 0; offset < data.length; offset += limits.maxFrameBytes) {
      const end = Math.min(offset + limits.maxFrameBytes, data.length);
      ws.send(data.subarray(offset, end), { binary: false, fin: end === data.length });
    }
  }

  function closeConnection(conn: Connection, code: number, reason: string, cause: DisconnectCause): void {
    if (conn.state === 'closed' || conn.closing) return;
    conn.closing = { code, reason, cause };
    conn.ws?.close(code, reason);
  }

  function resetIdle(conn: Connection): void {
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(
      () => closeConnection(conn, 1001, 'Going away', 'idle'),
      limits.idleTimeoutMs,
    );
    conn.idleTimer.unref?.();
  }

  function enqueue(conn: Connection, task: () => Promise<void>): void {
    conn.queue = track(
      conn.queue.then(task).catch((error: unknown) => {
        emit('error', error instanceof Error ? error : new Error(String(error)));
      }),
    );
  }

  async function dispatchMessage(conn: Connection, body: string): Promise<void> {
    const requestId = awsLikeId();
    const selected = selectRouteKey(body);
    const route = (selected !== undefined ? findRoute(selected) : undefined) ?? findRoute('$default');
    const routeKey = route?.routeKey ?? selected ?? '$default';
    emit('message', { connectionId: conn.id, routeKey, bytes: Buffer.byteLength(body), requestId, body });
    const started = Date.now();
    if (!route || route.routeKey === '$connect' || route.routeKey === '$disconnect') {
      sendToClient(conn, gatewayFrame('Forbidden', conn.id, requestId));
      emit('route', { connectionId: conn.id, routeKey, requestId, outcome: 'forbidden', durationMs: 0 });
      return;
    }
    const event = {
      requestContext: {
        ...baseRequestContext(conn, route.routeKey, 'MESSAGE', requestId),
        messageId: awsLikeId(),
      },
      body,
      isBase64Encoded: false,
    };
    try {
      const result = await invoke(route.handler, event, requestId);
      let responseBytes: number | undefined;
      if (route.twoWay) {
        const text = responseBody(result);
        if (text !== undefined) {
          sendToClient(conn, text);
          responseBytes = Buffer.byteLength(text);
        }
      }
      emit('route', {
        connectionId: conn.id,
        routeKey: route.routeKey,
        handler: route.handler,
        requestId,
        outcome: 'ok',
        durationMs: Date.now() - started,
        status: statusOf(result),
        responseBytes,
      });
    } catch (error) {
      sendToClient(conn, gatewayFrame('Internal server error', conn.id, requestId));
      emit('route', {
        connectionId: conn.id,
        routeKey: route.routeKey,
        handler: route.handler,
        requestId,
        outcome: error instanceof HandlerTimeout ? 'timeout' : 'error',
        durationMs: Date.now() - started,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async function runDisconnect(conn: Connection, code: number, reason: string): Promise<void> {
    const route = findRoute('$disconnect');
    if (!route) return;
    const requestId = awsLikeId();
    const event = {
      requestContext: {
        ...baseRequestContext(conn, '$disconnect', 'DISCONNECT', requestId),
        disconnectStatusCode: code,
        disconnectReason: reason,
      },
      isBase64Encoded: false,
    };
    const started = Date.now();
    try {
      const result = await invoke(route.handler, event, requestId);
      emit('route', {
        connectionId: conn.id,
        routeKey: '$disconnect',
        handler: route.handler,
        requestId,
        outcome: 'ok',
        durationMs: Date.now() - started,
        status: statusOf(result),
      });
    } catch (error) {
      emit('route', {
        connectionId: conn.id,
        routeKey: '$disconnect',
        handler: route.handler,
        requestId,
        outcome: error instanceof HandlerTimeout ? 'timeout' : 'error',
        durationMs: Date.now() - started,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  function onClosed(conn: Connection, code: number, reason: string): void {
    if (conn.state === 'closed') return;
    conn.state = 'closed';
    clearTimeout(conn.idleTimer);
    clearTimeout(conn.lifeTimer);
    connections.delete(conn.id);
    let finalCode = conn.closing?.code ?? code;
    let finalReason = conn.closing?.reason ?? reason;
    if (!conn.closing) {
      if (code === 1005) finalReason = 'Client-side close frame status not set';
      else if (code === 1006) finalReason = 'Connection closed abnormally';
      if (!finalCode) finalCode = 1006;
    }
    const cause = conn.closing?.cause ?? (code === 1006 ? 'error' : 'client');
    emit('disconnect', { connectionId: conn.id, code: finalCode, reason: finalReason, cause });
    enqueue(conn, () => runDisconnect(conn, finalCode, finalReason));
  }

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: limits.maxMessageBytes,
    handleProtocols: (_protocols, req) => selectedProtocols.get(req) ?? false,
  });
  const selectedProtocols = new WeakMap<IncomingMessage, string>();
  const extraHeaders = new WeakMap<IncomingMessage, Record<string, string>>();
  wss.on('headers', (headers, req) => {
    const extra = extraHeaders.get(req);
    if (!extra) return;
    for (const [name, value] of Object.entries(extra)) headers.push(`${name}: ${value}`);
  });

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '');
    if (closing) {
      rejectHandshake(socket, 503, '{"message":"Service Unavailable"}');
      return;
    }
    if (path !== `/${stage}`) {
      rejectHandshake(socket, 403, '{"message":"Forbidden"}');
      return;
    }
    const { headers, multiValueHeaders, lower } = headersOf(req);
    const sourceIp = (req.socket as Socket).remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';
    const domainName = lower.host ?? `${host}`;
    headers['X-Forwarded-For'] = sourceIp;
    multiValueHeaders['X-Forwarded-For'] = [sourceIp];
    headers['X-Forwarded-Proto'] = 'http';
    multiValueHeaders['X-Forwarded-Proto'] = ['http'];
    const queryStringParameters: Record<string, string> = {};
    const multiValueQueryStringParameters: Record<string, string[]> = {};
    for (const [key, value] of url.searchParams) {
      queryStringParameters[key] = value;
      const values = multiValueQueryStringParameters[key] ?? [];
      values.push(value);
      multiValueQueryStringParameters[key] = values;
    }
    const hasQuery = Object.keys(queryStringParameters).length > 0;
    const now = Date.now();
    const conn: Connection = {
      id: awsLikeId(),
      state: 'connecting',
      connectedAt: now,
      lastActiveAt: now,
      sourceIp,
      userAgent: lower['user-agent'] ?? '',
      domainName,
      queue: Promise.resolve(),
    };
    connections.set(conn.id, conn);
    let socketGone = false;
    socket.once('close', () => {
      socketGone = true;
    });
    const refuse = (status: number, reason: string, body?: string) => {
      connections.delete(conn.id);
      conn.state = 'closed';
      emit('connectRefused', { connectionId: conn.id, status, reason });
      rejectHandshake(socket, status, body ?? JSON.stringify({ message: STATUS_TEXT[status] ?? 'Error' }));
    };

    const connectRoute = findRoute('$connect');
    const requestId = awsLikeId();
    const requestContext = () => baseRequestContext(conn, '$connect', 'CONNECT', requestId);

    if (authorizer && connectRoute?.authorized) {
      const missing = missingIdentitySource(authorizer.identitySources, {
        headers: lower,
        query: url.searchParams,
      });
      if (missing) {
        refuse(401, `identity source missing: ${missing}`, '{"message":"Unauthorized"}');
        return;
      }
      const methodArn = `arn:aws:execute-api:${region}:${accountId}:${apiId}/${stage}/$connect`;
      const authEvent = {
        type: 'REQUEST',
        methodArn,
        headers,
        multiValueHeaders,
        ...(hasQuery ? { queryStringParameters, multiValueQueryStringParameters } : {}),
        stageVariables: {},
        requestContext: requestContext(),
      };
      const authStarted = Date.now();
      let outcome: AuthorizerOutcome;
      try {
        outcome = evaluateAuthorizerResult(
          await invoke(authorizer.handler, authEvent, awsLikeId()),
          methodArn,
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        outcome =
          message === 'Unauthorized'
            ? { ok: false, status: 401, reason: 'authorizer: Unauthorized' }
            : { ok: false, status: 500, reason: `authorizer failed: ${message}` };
      }
      emit('route', {
        connectionId: conn.id,
        routeKey: '$connect',
        handler: authorizer.handler,
        requestId,
        outcome: outcome.ok ? 'ok' : outcome.status === 500 ? 'error' : 'refused',
        durationMs: Date.now() - authStarted,
        status: outcome.ok ? 200 : outcome.status,
        ...(outcome.ok ? {} : { error: outcome.reason }),
      });
      if (!outcome.ok) {
        const message = outcome.status === 500 ? 'Internal Server Error' : STATUS_TEXT[outcome.status];
        refuse(outcome.status, outcome.reason, JSON.stringify({ message }));
        return;
      }
      conn.authorizer = {
        ...outcome.context,
        principalId: outcome.principalId,
        integrationLatency: Date.now() - authStarted,
      };
    }

    let responseHeaders: Record<string, string> = {};
    if (connectRoute) {
      const event = {
        headers,
        multiValueHeaders,
        ...(hasQuery ? { queryStringParameters, multiValueQueryStringParameters } : {}),
        requestContext: requestContext(),
        isBase64Encoded: false,
      };
      const started = Date.now();
      let result: unknown;
      try {
        result = await invoke(connectRoute.handler, event, requestId);
      } catch (error) {
        const timedOut = error instanceof HandlerTimeout;
        emit('route', {
          connectionId: conn.id,
          routeKey: '$connect',
          handler: connectRoute.handler,
          requestId,
          outcome: timedOut ? 'timeout' : 'error',
          durationMs: Date.now() - started,
          error: error instanceof Error ? error.message : String(error),
        });
        // Integration failure on $connect: API Gateway answers 502 (504 on its integration timeout).
        refuse(
          timedOut ? 504 : 502,
          timedOut ? 'connect handler timed out' : 'connect handler failed',
          '{"message":"Internal server error"}',
        );
        return;
      }
      const status = statusOf(result) ?? 200;
      emit('route', {
        connectionId: conn.id,
        routeKey: '$connect',
        handler: connectRoute.handler,
        requestId,
        outcome: status >= 200 && status < 300 ? 'ok' : 'refused',
        durationMs: Date.now() - started,
        status,
      });
      if (status < 200 || status > 299) {
        refuse(status, `$connect answered ${status}`, responseBody(result) ?? '');
        return;
      }
      responseHeaders = headersFromResult(result);
    }

    if (socketGone || socket.destroyed || closing) {
      // The client left while $connect ran: API Gateway still sends $disconnect.
      conn.state = 'open';
      onClosed(conn, 1006, 'Connection closed abnormally');
      if (!socket.destroyed) socket.destroy();
      return;
    }
    const protocolHeader = Object.entries(responseHeaders).find(
      ([k]) => k.toLowerCase() === 'sec-websocket-protocol',
    );
    if (protocolHeader) selectedProtocols.set(req, protocolHeader[1]);
    const extra = Object.fromEntries(
      Object.entries(responseHeaders).filter(
        ([k]) => !/^(sec-websocket-|connection$|upgrade$|content-length$)/i.test(k),
      ),
    );
    if (Object.keys(extra).length > 0) extraHeaders.set(req, extra);

    let upgraded = false;
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      conn.ws = ws;
      conn.state = 'open';
      if (ws.protocol) conn.subprotocol = ws.protocol;
      installFrameChecks(ws, limits.maxFrameBytes, (code) => {
        conn.closing ??= {
          code,
          reason: code === 1003 ? 'Binary frames are not supported' : 'Message too big',
          cause: 'limit',
        };
      });
      ws.on('error', (error) => {
        // ws reports protocol violations (size limits) here and closes the socket itself.
        if ((error as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
          conn.closing ??= { code: 1009, reason: 'Message too big', cause: 'limit' };
        }
      });
      ws.on('message', (data, isBinary) => {
        if (conn.state !== 'open' || conn.closing) return;
        conn.lastActiveAt = Date.now();
        resetIdle(conn);
        if (isBinary) {
          closeConnection(conn, 1003, 'Binary frames are not supported', 'limit');
          return;
        }
        const body = Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data as ArrayBuffer).toString('utf8');
        enqueue(conn, () => dispatchMessage(conn, body));
      });
      ws.on('close', (code, reason) => onClosed(conn, code, reason.toString('utf8')));
      resetIdle(conn);
      conn.lifeTimer = setTimeout(
        () => closeConnection(conn, 1001, 'Going away', 'lifetime'),
        limits.maxLifetimeMs,
      );
      conn.lifeTimer.unref?.();
      emit('connect', {
        connectionId: conn.id,
        sourceIp,
        query: queryStringParameters,
        ...(conn.subprotocol ? { subprotocol: conn.subprotocol } : {}),
        ...(conn.authorizer ? { authorizer: conn.authorizer } : {}),
      });
    });
    if (!upgraded) {
      // ws refused to complete the upgrade (the client went away while $connect ran): the
      // connection existed for the handlers, so it gets its $disconnect like on AWS.
      conn.state = 'open';
      onClosed(conn, 1006, 'Connection closed abnormally');
      if (!socket.destroyed) socket.destroy();
    }
  }

  // ---------------------------------------------------------------- management API (@connections)
  function sendError(res: ServerResponse, status: number, errorType: string, message: string | null): void {
    const body = JSON.stringify({ message });
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-amzn-ErrorType': errorType,
      'x-amzn-RequestId': awsLikeId(),
    });
    res.end(body);
  }

  function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too-large'> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) tooLarge = true;
        else chunks.push(chunk);
      });
      req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }

  async function handleManagement(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/([^/]+)\/(?:@|%40)connections\/([^/]+)\/?$/i.exec(url.pathname);
    const finish = (status: number, connectionId: string, bytes: number, errorType?: string) =>
      emit('management', { method, connectionId, status, bytes, ...(errorType ? { errorType } : {}) });
    if (!match || decodeURIComponent(match[1]!) !== stage) {
      req.resume();
      // An unknown stage or path on execute-api: 403 ForbiddenException (AWS: "Forbidden").
      sendError(res, 403, 'ForbiddenException', 'Forbidden');
      finish(403, match?.[2] ? decodeURIComponent(match[2]) : '', 0, 'ForbiddenException');
      return;
    }
    const connectionId = decodeURIComponent(match[2]!);
    const conn = connections.get(connectionId);
    const live = conn && conn.state === 'open' && !conn.closing ? conn : undefined;
    if (method === 'POST') {
      const body = await readBody(req, limits.maxMessageBytes);
      if (body === 'too-large') {
        sendError(res, 413, 'PayloadTooLargeException', 'Request Entity Too Large');
        finish(413, connectionId, 0, 'PayloadTooLargeException');
        return;
      }
      if (!live) {
        sendError(res, 410, 'GoneException', null);
        finish(410, connectionId, body.length, 'GoneException');
        return;
      }
      sendToClient(live, body.toString('utf8'));
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': 0,
        'x-amzn-RequestId': awsLikeId(),
      });
      res.end();
      finish(200, connectionId, body.length);
      return;
    }
    req.resume();
    if (method === 'GET') {
      if (!live) {
        sendError(res, 410, 'GoneException', null);
        finish(410, connectionId, 0, 'GoneException');
        return;
      }
      const body = JSON.stringify({
        connectedAt: new Date(live.connectedAt).toISOString(),
        identity: { sourceIp: live.sourceIp, userAgent: live.userAgent },
        lastActiveAt: new Date(live.lastActiveAt).toISOString(),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      finish(200, connectionId, 0);
      return;
    }
    if (method === 'DELETE') {
      if (!live) {
        sendError(res, 410, 'GoneException', null);
        finish(410, connectionId, 0, 'GoneException');
        return;
      }
      closeConnection(live, 1000, '', 'deleted');
      res.writeHead(204, { 'x-amzn-RequestId': awsLikeId() });
      res.end();
      finish(204, connectionId, 0);
      return;
    }
    sendError(res, 403, 'ForbiddenException', 'Forbidden');
    finish(403, connectionId, 0, 'ForbiddenException');
  }

  const server: Server = createServer((req, res) => {
    handleManagement(req, res).catch((error: unknown) => {
      emit('error', error instanceof Error ? error : new Error(String(error)));
      if (!res.headersSent) sendError(res, 500, 'InternalServerErrorException', 'Internal server error');
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(
      handleUpgrade(req, socket, head).catch((error: unknown) => {
        emit('error', error instanceof Error ? error : new Error(String(error)));
        rejectHandshake(socket, 500, '{"message":"Internal Server Error"}');
      }),
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3001, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  managementEndpoint = `http://${urlHost}:${port}/${stage}`;
  env.MANAGEMENT_ENDPOINT ??= managementEndpoint;

  const gateway: LocalGateway = {
    url: `ws://${urlHost}:${port}/${stage}`,
    managementEndpoint,
    port,
    host,
    stage,
    apiId,
    loader,
    connections: () =>
      [...connections.values()].map((c) => ({
        connectionId: c.id,
        state: c.state,
        connectedAt: c.connectedAt,
        lastActiveAt: c.lastActiveAt,
        sourceIp: c.sourceIp,
        userAgent: c.userAgent,
        ...(c.subprotocol ? { subprotocol: c.subprotocol } : {}),
        ...(c.authorizer ? { authorizer: c.authorizer } : {}),
      })),
    reloadHandlers: () => loader.reload(),
    on(event, listener) {
      emitter.on(event, listener as (...args: unknown[]) => void);
      return gateway;
    },
    off(event, listener) {
      emitter.off(event, listener as (...args: unknown[]) => void);
      return gateway;
    },
    async close() {
      if (closing) return;
      closing = true;
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const conn of connections.values()) {
        if (conn.state === 'open') closeConnection(conn, 1001, 'Going away', 'shutdown');
      }
      // Wait (bounded) for the closing handshakes and every $disconnect / in-flight handler.
      const deadline = Date.now() + Math.min(limits.handlerTimeoutMs, 10_000) + 1_000;
      while (
        (pending.size > 0 || [...connections.values()].some((c) => c.state === 'open')) &&
        Date.now() < deadline
      ) {
        // A timer, never only microtasks: the closing handshakes need the event loop to run.
        await new Promise((r) => setTimeout(r, 10));
        if (pending.size > 0)
          await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, 50))]);
      }
      for (const conn of connections.values()) conn.ws?.terminate();
      server.closeAllConnections();
      await serverClosed;
    },
  };
  return gateway;
}

function statusOf(result: unknown): number | undefined {
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const status = Number((result as { statusCode: unknown }).statusCode);
    return Number.isFinite(status) ? status : undefined;
  }
  return undefined;
}

/** The `body` of a Lambda proxy response (or a plain string result), decoded from base64 when flagged. */
function responseBody(result: unknown): string | undefined {
  if (typeof result === 'string') return result;
  if (!result || typeof result !== 'object') return undefined;
  const { body, isBase64Encoded } = result as { body?: unknown; isBase64Encoded?: unknown };
  if (body === undefined || body === null) return undefined;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return isBase64Encoded === true ? Buffer.from(text, 'base64').toString('utf8') : text;
}

function headersFromResult(result: unknown): Record<string, string> {
  if (!result || typeof result !== 'object') return {};
  const headers = (result as { headers?: unknown }).headers;
  if (!headers || typeof headers !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (v !== undefined && v !== null) out[k] = String(v);
  }
  return out;
}
