import type { PeerIdentity } from '@mpc-relay/protocol';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import type { WebSocketEvent, WebSocketResult } from '../../src/events.js';
import type { BroadcastEvent, BroadcastResult } from '../../src/handlers/broadcast.js';
import { HANDLER_NAMES, type HandlerName, routeFor } from '../../src/routes.js';
import { authorizerEvent, connectEvent, disconnectEvent, messageEvent, newConnectionId } from './events.js';
import type { FakeManagementApi } from './management.js';

type AnyHandler = (event: never, context?: never) => Promise<unknown>;

export interface Handlers {
  authorizer: (event: ReturnType<typeof authorizerEvent>) => Promise<APIGatewayAuthorizerResult>;
  broadcast: (event: BroadcastEvent) => Promise<BroadcastResult>;
  route: (name: HandlerName, event: WebSocketEvent) => Promise<WebSocketResult>;
}

/** Loads every handler of the route table from the sources or from the built bundles. */
export async function loadHandlers(from: 'src' | 'dist'): Promise<Handlers> {
  const modules = {} as Record<HandlerName, AnyHandler>;
  for (const name of HANDLER_NAMES) {
    const path = from === 'src' ? `../../src/handlers/${name}.ts` : `../../dist/${name}/index.mjs`;
    const module = (await import(/* @vite-ignore */ path)) as { handler: AnyHandler };
    if (typeof module.handler !== 'function') throw new Error(`${path} exports no handler`);
    modules[name] = module.handler;
  }
  return {
    authorizer: (event) => (modules.authorizer as unknown as Handlers['authorizer'])(event),
    broadcast: (event) => (modules.broadcast as unknown as Handlers['broadcast'])(event),
    route: (name, event) =>
      (modules[name] as unknown as (e: WebSocketEvent) => Promise<WebSocketResult>)(event),
  };
}

/** Which handler API Gateway would pick for a body (route selection `$request.body.action`). */
export function routeOf(body: string): { routeKey: string; handler: HandlerName } {
  let action: unknown;
  try {
    action = (JSON.parse(body) as { action?: unknown })?.action;
  } catch {
    action = undefined;
  }
  const route = (action === undefined ? undefined : routeFor(String(action))) ?? routeFor('$default');
  if (!route) throw new Error('no $default route');
  return { routeKey: route.routeKey, handler: route.handler };
}

/** A connected client, driven the way API Gateway drives the handlers. */
export class TestClient {
  constructor(
    readonly relay: TestRelay,
    readonly connectionId: string,
    readonly peer: PeerIdentity,
    /** Extra authorizer context of the connection (e.g. `teams`, `exp` in jwt mode). */
    readonly context: Record<string, string | number> = {},
  ) {}

  /** Sends a frame; returns the handler's result (its `body` is what the client would receive back). */
  async send(frame: string | object): Promise<WebSocketResult> {
    const body = typeof frame === 'string' ? frame : JSON.stringify(frame);
    const { routeKey, handler } = routeOf(body);
    return this.relay.handlers.route(
      handler,
      messageEvent({
        connectionId: this.connectionId,
        routeKey,
        body,
        peer: this.peer,
        context: this.context,
      }),
    );
  }

  /** Frames posted to this connection through the management API, in order. */
  received(): string[] {
    return this.relay.management.received(this.connectionId);
  }

  async disconnect(): Promise<WebSocketResult> {
    // As on AWS: a closed connection answers 410 GoneException from then on.
    this.relay.management.gone.add(this.connectionId);
    return this.relay.handlers.route(
      'disconnect',
      disconnectEvent({ connectionId: this.connectionId, peer: this.peer }),
    );
  }
}

export class TestRelay {
  constructor(
    readonly handlers: Handlers,
    readonly management: FakeManagementApi,
  ) {}

  /** Authorizer then `$connect`, as API Gateway runs them; throws if the handshake is refused. */
  async connect(peer: PeerIdentity, options: { headers?: Record<string, string> } = {}): Promise<TestClient> {
    const connectionId = newConnectionId();
    const query: Record<string, string> =
      peer.type === 'cli' ? { type: 'cli', cliId: peer.id } : { type: 'mpc', mpcId: peer.id };
    const headers = { Authorization: 'Allow', ...options.headers };
    const decision = await this.handlers.authorizer(authorizerEvent({ connectionId, query, headers }));
    if (decision.policyDocument.Statement[0]?.Effect !== 'Allow') throw new Error('denied');
    const event = connectEvent({ connectionId, query, headers });
    if (decision.context) {
      event.requestContext.authorizer = { ...decision.context, principalId: decision.principalId } as never;
    }
    const result = await this.handlers.route('connect', event);
    if (result.statusCode !== 200) throw new Error(`$connect answered ${result.statusCode}: ${result.body}`);
    const {
      peerType: _type,
      peerId: _id,
      ...extra
    } = (decision.context ?? {}) as Record<string, string | number>;
    return new TestClient(this, connectionId, peer, extra);
  }
}
