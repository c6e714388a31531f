/**
 * The one route table of the relay. The Pulumi program creates a Function + Integration + Route
 * (+ Permission) per route from it, and the local gateway dispatches by it, so the cloud and the
 * local mode cannot drift. Nothing else may name a route.
 */

/** A handler bundle: built to `dist/<name>/index.mjs`, exporting `handler`. */
export type HandlerName =
  | 'authorizer'
  | 'connect'
  | 'disconnect'
  | 'getConnectionId'
  | 'sendServer'
  | 'ack'
  | 'ping'
  | 'default'
  | 'broadcast';

/** What a handler's IAM role needs, so infra grants exactly that and nothing more. */
export interface HandlerPermissions {
  /** DynamoDB actions on the relay table (and its indexes). */
  dynamodb: readonly string[];
  /** Management API methods on `@connections` (`POST`, `GET`, `DELETE`). */
  manageConnections: readonly ('POST' | 'GET' | 'DELETE')[];
  /**
   * Indexes the handler Queries (optional; infra's default when absent: `byType` for any handler
   * allowed `dynamodb:Query`).
   */
  indexes?: readonly string[];
}

export interface RouteDefinition {
  /** API Gateway route key: `$connect`, `$disconnect`, `$default`, or an `action` value. */
  routeKey: string;
  handler: HandlerName;
  /** Only `$connect` may carry the REQUEST authorizer. */
  authorized?: boolean;
  /**
   * Two-way route: API Gateway sends the handler's returned `body` back to the caller (a route
   * response with key `$default`), so answers and error frames to the sender need no
   * PostToConnection. Deliveries to other peers always go through the management API.
   */
  twoWay?: boolean;
}

export interface FunctionDefinition {
  handler: HandlerName;
  description: string;
  permissions: HandlerPermissions;
}

/** The routes of the WebSocket API, in the order API Gateway documents them. */
export const ROUTES: readonly RouteDefinition[] = [
  { routeKey: '$connect', handler: 'connect', authorized: true },
  { routeKey: '$disconnect', handler: 'disconnect' },
  { routeKey: 'getConnectionId', handler: 'getConnectionId', twoWay: true },
  { routeKey: 'sendServer', handler: 'sendServer', twoWay: true },
  { routeKey: 'ack', handler: 'ack', twoWay: true },
  { routeKey: 'ping', handler: 'ping', twoWay: true },
  { routeKey: '$default', handler: 'default', twoWay: true },
];

/** The REQUEST authorizer on `$connect`. */
export const AUTHORIZER = {
  handler: 'authorizer' as const,
  /**
   * Identity sources API Gateway checks before invoking the authorizer (401 when one is missing).
   * Static mode (v1) needs the header; jwt mode accepts the token in the header or in the
   * `token` query parameter, so it declares none and the authorizer itself answers 401.
   */
  identitySources: {
    static: ['route.request.header.Authorization'],
    jwt: [],
  } as const,
};

/**
 * Every Lambda function of the relay with exactly the permissions its code uses (infra derives the
 * IAM policies from it). Two-way answers need no `POST`: API Gateway returns them. Every message
 * route (getConnectionId, sendServer, ack, ping, $default) needs `POST` + `DELETE` for jwt mode: a
 * frame on a connection whose token expired is answered TOKEN_EXPIRED by a post (a returned body
 * would be lost once the connection is deleted) and the connection is closed (DeleteConnection).
 */
export const FUNCTIONS: Readonly<Record<HandlerName, FunctionDefinition>> = {
  authorizer: {
    handler: 'authorizer',
    description: 'REQUEST authorizer on $connect',
    permissions: { dynamodb: [], manageConnections: [] },
  },
  connect: {
    handler: 'connect',
    description: 'Validates connect parameters and records the connection',
    // Query the peer's live connections (MAX_CONNECTIONS_PER_PEER), PutItem the new one.
    permissions: { dynamodb: ['dynamodb:Query', 'dynamodb:PutItem'], manageConnections: [] },
  },
  disconnect: {
    handler: 'disconnect',
    description: 'Removes the connection record',
    // Query: only the byType index, to find a record when the event lacks the authorizer context.
    permissions: {
      dynamodb: ['dynamodb:DeleteItem', 'dynamodb:Query'],
      manageConnections: [],
      indexes: ['byType'],
    },
  },
  getConnectionId: {
    handler: 'getConnectionId',
    description: "Answers the caller's connection id and delivers what waited for it",
    // Query the inbox, BatchWriteItem to delete (or, v2, mark) what was delivered, POST the waiting
    // messages; PutItem a deferred mapping (tenant isolation); Query an expired message's sender's
    // connections and POST it EXPIRED (DeleteItem if that connection is stale).
    permissions: {
      dynamodb: ['dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      manageConnections: ['POST', 'DELETE'],
    },
  },
  sendServer: {
    handler: 'sendServer',
    description: 'Relays a signing message between an mpc and a cli',
    // GetItem/PutItem the route (conversation or mapping; Put/DeleteItem to undo a refused one),
    // Query the target's connections, UpdateItem/PutItem the inbox count, PutItem the inbox (v2:
    // with a dedupe condition), DeleteItem stale connections and delivered items, POST the
    // delivery; the reconnect race re-check drains the target's inbox to a new connection (Query,
    // BatchWriteItem, PutItem of a deferred mapping). The sender's own inbox is never read here.
    permissions: {
      dynamodb: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:Query',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
      ],
      manageConnections: ['POST', 'DELETE'],
    },
  },
  ack: {
    handler: 'ack',
    description: 'Acknowledges delivered messages (protocol v2): deletes them or leaves dedupe markers',
    // POST + DELETE: TOKEN_EXPIRED (jwt mode) only.
    permissions: { dynamodb: ['dynamodb:BatchWriteItem'], manageConnections: ['POST', 'DELETE'] },
  },
  ping: {
    handler: 'ping',
    description: 'Application keepalive; protocol v2: redelivers unacknowledged messages',
    // v1 pings touch nothing; v2 pings run the same inbox drain as getConnectionId.
    permissions: {
      dynamodb: ['dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      manageConnections: ['POST', 'DELETE'],
    },
  },
  default: {
    handler: 'default',
    description: 'Answers unknown actions and non-JSON bodies with an error frame',
    // POST + DELETE: TOKEN_EXPIRED (jwt mode) only.
    permissions: { dynamodb: [], manageConnections: ['POST', 'DELETE'] },
  },
  broadcast: {
    handler: 'broadcast',
    description:
      "Sends a message to every connected peer (the original demo's sendMessage), invoked directly",
    permissions: {
      dynamodb: ['dynamodb:Query', 'dynamodb:DeleteItem'],
      manageConnections: ['POST'],
      indexes: ['byType'],
    },
  },
};

/** Every handler that gets a bundle and a Lambda function. */
export const HANDLER_NAMES = Object.keys(FUNCTIONS) as HandlerName[];

/** Route lookup the gateway uses: route key to handler. */
export function routeFor(routeKey: string): RouteDefinition | undefined {
  return ROUTES.find((route) => route.routeKey === routeKey);
}
