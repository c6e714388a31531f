import { type ApiStage, disconnectEvent, messageEvent } from './api-events.js';
import { type Connection, sendToClient } from './connection.js';
import { type Emit, reportRoute } from './events.js';
import { awsLikeId } from './ids.js';
import { type Invoke, reportFailure } from './invoke.js';
import { responseBody, statusOf } from './lambda-response.js';
import type { GatewayRoute } from './options.js';

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

/** What API Gateway answers a caller when it cannot route a message or the integration fails. */
function gatewayFrame(
  message: 'Forbidden' | 'Internal server error',
  connectionId: string,
  requestId: string,
) {
  // The exact text API Gateway sends (note the space after "message":).
  return `{"message": ${JSON.stringify(message)}, "connectionId":${JSON.stringify(connectionId)}, "requestId":${JSON.stringify(requestId)}}`;
}

export interface Router {
  find(routeKey: string): GatewayRoute | undefined;
  /** Selects the route of a client message, runs its handler and answers the caller. */
  dispatchMessage(conn: Connection, body: string): Promise<void>;
  runDisconnect(conn: Connection, code: number, reason: string): Promise<void>;
}

export interface RouterDependencies {
  routes: readonly GatewayRoute[];
  api: ApiStage;
  invoke: Invoke;
  emit: Emit;
  maxFrameBytes: number;
}

export function createRouter(deps: RouterDependencies): Router {
  const { routes, api, invoke, emit, maxFrameBytes } = deps;
  // The first route of a key wins, as `routes.find` would.
  const byKey = new Map<string, GatewayRoute>();
  for (const route of routes) if (!byKey.has(route.routeKey)) byKey.set(route.routeKey, route);
  const find = (routeKey: string) => byKey.get(routeKey);

  async function dispatchMessage(conn: Connection, body: string): Promise<void> {
    const requestId = awsLikeId();
    const selected = selectRouteKey(body);
    const route = (selected !== undefined ? find(selected) : undefined) ?? find('$default');
    const routeKey = route?.routeKey ?? selected ?? '$default';
    emit('message', { connectionId: conn.id, routeKey, bytes: Buffer.byteLength(body), requestId, body });
    // No route, or a reserved one (a message can never select $connect / $disconnect).
    if (!route || route.routeKey === '$connect' || route.routeKey === '$disconnect') {
      sendToClient(conn, gatewayFrame('Forbidden', conn.id, requestId), maxFrameBytes);
      emit('route', { connectionId: conn.id, routeKey, requestId, outcome: 'forbidden', durationMs: 0 });
      return;
    }
    const event = messageEvent(api, conn, route.routeKey, requestId, body);
    const subject = { connectionId: conn.id, routeKey: route.routeKey, handler: route.handler, requestId };
    const started = Date.now();
    try {
      const { result, initDurationMs } = await invoke(route.handler, event, requestId);
      let response: string | undefined;
      // A two-way route's answer is the handler's returned body (route response `$default`).
      if (route.twoWay) {
        response = responseBody(result);
        if (response !== undefined) sendToClient(conn, response, maxFrameBytes);
      }
      reportRoute(emit, subject, started, 'ok', {
        status: statusOf(result),
        initDurationMs,
        ...(response !== undefined ? { responseBytes: Buffer.byteLength(response), response } : {}),
      });
    } catch (error) {
      // The connection stays open, like on AWS.
      sendToClient(conn, gatewayFrame('Internal server error', conn.id, requestId), maxFrameBytes);
      reportFailure(emit, subject, started, error);
    }
  }

  async function runDisconnect(conn: Connection, code: number, reason: string): Promise<void> {
    const route = find('$disconnect');
    if (!route) return;
    const requestId = awsLikeId();
    const event = disconnectEvent(api, conn, requestId, code, reason);
    const subject = { connectionId: conn.id, routeKey: '$disconnect', handler: route.handler, requestId };
    const started = Date.now();
    try {
      const { result, initDurationMs } = await invoke(route.handler, event, requestId);
      reportRoute(emit, subject, started, 'ok', { status: statusOf(result), initDurationMs });
    } catch (error) {
      reportFailure(emit, subject, started, error);
    }
  }

  return { find, dispatchMessage, runDisconnect };
}
