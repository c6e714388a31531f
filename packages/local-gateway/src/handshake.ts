import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type ApiStage,
  authorizerEvent,
  connectEvent,
  readUpgradeRequest,
  type UpgradeRequest,
} from './api-events.js';
import { type AuthorizerOutcome, evaluateAuthorizerResult, missingIdentitySource } from './authorizer.js';
import type { Connection } from './connection.js';
import { superviseSocket } from './connection-limits.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { type Emit, errorMessage, reportRoute } from './events.js';
import { awsLikeId } from './ids.js';
import { HandlerTimeout, type Invoke, reportFailure } from './invoke.js';
import { headersFromResult, responseBody, statusOf } from './lambda-response.js';
import type { GatewaySettings } from './options.js';
import type { Router } from './routing.js';
import { createUpgrader, rejectHandshake, STATUS_TEXT } from './upgrade.js';

export interface HandshakeDependencies {
  settings: GatewaySettings;
  api: ApiStage;
  invoke: Invoke;
  emit: Emit;
  router: Router;
  registry: ConnectionRegistry;
  isShuttingDown(): boolean;
}

/** The handshake failed: the status (and body) the upgrade request gets. */
interface Refusal {
  status: number;
  reason: string;
  body: string;
}

/**
 * Handles an upgrade request as API Gateway does: the authorizer and then `$connect` run while the
 * request waits, and the WebSocket handshake completes only after both succeed.
 */
export function createHandshake(deps: HandshakeDependencies) {
  const { settings, api, invoke, emit, router, registry } = deps;
  const { stage, region, accountId, limits, authorizer } = settings;
  const completeUpgrade = createUpgrader(limits.maxMessageBytes, limits.closeTimeoutMs);

  /** Runs the REQUEST authorizer; on success the connection carries its context from then on. */
  async function authorize(
    conn: Connection,
    request: UpgradeRequest,
    requestId: string,
  ): Promise<Refusal | undefined> {
    if (!authorizer) return undefined;
    const missing = missingIdentitySource(authorizer.identitySources, {
      headers: request.lowerHeaders,
      query: request.searchParams,
    });
    if (missing) {
      return {
        status: 401,
        reason: `identity source missing: ${missing}`,
        body: '{"message":"Unauthorized"}',
      };
    }
    const methodArn = `arn:aws:execute-api:${region}:${accountId}:${api.apiId}/${stage}/$connect`;
    const event = authorizerEvent(api, conn, request, requestId, methodArn);
    const started = Date.now();
    let outcome: AuthorizerOutcome;
    let initDurationMs: number | undefined;
    try {
      const invocation = await invoke(authorizer.handler, event, awsLikeId());
      initDurationMs = invocation.initDurationMs;
      outcome = evaluateAuthorizerResult(invocation.result, methodArn);
    } catch (error) {
      const message = errorMessage(error);
      // Only this exact message is API Gateway's 401; any other failure is a 500.
      outcome =
        message === 'Unauthorized'
          ? { ok: false, status: 401, reason: 'authorizer: Unauthorized' }
          : { ok: false, status: 500, reason: `authorizer failed: ${message}` };
    }
    const subject = { connectionId: conn.id, routeKey: '$connect', handler: authorizer.handler, requestId };
    reportRoute(emit, subject, started, outcome.ok ? 'ok' : outcome.status === 500 ? 'error' : 'refused', {
      status: outcome.ok ? 200 : outcome.status,
      initDurationMs,
      ...(outcome.ok ? {} : { error: outcome.reason }),
    });
    if (!outcome.ok) {
      const message = outcome.status === 500 ? 'Internal Server Error' : STATUS_TEXT[outcome.status];
      return { status: outcome.status, reason: outcome.reason, body: JSON.stringify({ message }) };
    }
    conn.authorizer = {
      ...outcome.context,
      principalId: outcome.principalId,
      integrationLatency: Date.now() - started,
    };
    return undefined;
  }

  /** Runs `$connect`; answers its response headers, or why the handshake fails. */
  async function runConnect(
    conn: Connection,
    request: UpgradeRequest,
    requestId: string,
  ): Promise<{ headers: Record<string, string> } | Refusal> {
    const route = router.find('$connect');
    if (!route) return { headers: {} };
    const event = connectEvent(api, conn, request, requestId);
    const subject = { connectionId: conn.id, routeKey: '$connect', handler: route.handler, requestId };
    const started = Date.now();
    let result: unknown;
    let initDurationMs: number | undefined;
    try {
      ({ result, initDurationMs } = await invoke(route.handler, event, requestId));
    } catch (error) {
      reportFailure(emit, subject, started, error);
      // Integration failure on $connect: API Gateway answers 502 (504 on its integration timeout).
      const timedOut = error instanceof HandlerTimeout;
      return {
        status: timedOut ? 504 : 502,
        reason: timedOut ? 'connect handler timed out' : 'connect handler failed',
        body: '{"message":"Internal server error"}',
      };
    }
    const status = statusOf(result) ?? 200;
    const accepted = status >= 200 && status < 300;
    reportRoute(emit, subject, started, accepted ? 'ok' : 'refused', { status, initDurationMs });
    if (!accepted) return { status, reason: `$connect answered ${status}`, body: responseBody(result) ?? '' };
    return { headers: headersFromResult(result) };
  }

  return async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (deps.isShuttingDown()) {
      rejectHandshake(socket, 503, '{"message":"Service Unavailable"}');
      return;
    }
    if (url.pathname.replace(/\/+$/, '') !== `/${stage}`) {
      rejectHandshake(socket, 403, '{"message":"Forbidden"}');
      return;
    }
    const request = readUpgradeRequest(req, url);
    const now = Date.now();
    const conn: Connection = {
      id: awsLikeId(),
      state: 'connecting',
      connectedAt: now,
      lastActiveAt: now,
      sourceIp: request.sourceIp,
      userAgent: request.lowerHeaders['user-agent'] ?? '',
      domainName: request.lowerHeaders.host ?? settings.host,
      queue: Promise.resolve(),
    };
    registry.add(conn);
    let socketGone = false;
    socket.once('close', () => {
      socketGone = true;
    });
    const refuse = ({ status, reason, body }: Refusal) => {
      registry.forget(conn);
      conn.state = 'closed';
      emit('connectRefused', { connectionId: conn.id, status, reason, query: request.queryStringParameters });
      rejectHandshake(socket, status, body);
    };
    // The client left while $connect ran: the handlers saw it connect, so it gets its $disconnect.
    const abandon = () => {
      conn.state = 'open';
      registry.closed(conn, 1006, 'Connection closed abnormally');
      if (!socket.destroyed) socket.destroy();
    };

    const requestId = awsLikeId();
    if (router.find('$connect')?.authorized) {
      const refusal = await authorize(conn, request, requestId);
      if (refusal) {
        refuse(refusal);
        return;
      }
    }
    const connected = await runConnect(conn, request, requestId);
    if ('status' in connected) {
      refuse(connected);
      return;
    }
    if (socketGone || socket.destroyed || deps.isShuttingDown()) {
      abandon();
      return;
    }
    const ws = completeUpgrade(req, socket, head, connected.headers);
    if (!ws) {
      // ws could not finish the upgrade: the client went away in between.
      abandon();
      return;
    }
    conn.ws = ws;
    conn.state = 'open';
    if (ws.protocol) conn.subprotocol = ws.protocol;
    superviseSocket(conn, ws, limits, {
      onMessage: (body) => registry.enqueue(conn, () => router.dispatchMessage(conn, body)),
      onClose: (code, reason) => registry.closed(conn, code, reason),
    });
    emit('connect', {
      connectionId: conn.id,
      sourceIp: conn.sourceIp,
      query: request.queryStringParameters,
      ...(conn.subprotocol ? { subprotocol: conn.subprotocol } : {}),
      ...(conn.authorizer ? { authorizer: conn.authorizer } : {}),
    });
  };
}
