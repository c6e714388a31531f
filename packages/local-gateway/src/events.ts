import { EventEmitter } from 'node:events';

export type DisconnectCause =
  | 'client'
  | 'idle'
  | 'lifetime'
  | 'deleted'
  | 'limit'
  | 'slow-consumer'
  | 'shutdown'
  | 'error';

export type RouteOutcome = 'ok' | 'error' | 'timeout' | 'throttled' | 'forbidden' | 'refused';

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
  /** `query`: the connect request's query string parameters (what the client claimed). */
  connectRefused: [{ connectionId: string; status: number; reason: string; query?: Record<string, string> }];
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
      /** A two-way route's answer as sent to the caller: pick fields from it, never log it whole. */
      response?: string;
      error?: string;
      /** A cold start: the INIT duration of the execution environment this invocation started. */
      initDurationMs?: number;
    },
  ];
  /**
   * A management API call (`@connections`). A POST carries the posted text in `body` (whether or
   * not it reached the client) so a listener can pick routing fields: never log it whole.
   */
  management: [
    {
      method: string;
      connectionId: string;
      status: number;
      bytes: number;
      errorType?: string;
      body?: string;
    },
  ];
  /**
   * A Lambda Invoke API call (`POST /2015-03-31/functions/{name}/invocations`): `status` is the
   * HTTP answer (202 for `Event`, reported once the background run ended), `outcome` the run's.
   */
  invoke: [
    {
      functionName: string;
      handler?: string;
      requestId: string;
      invocationType: string;
      status: number;
      outcome: 'ok' | 'error' | 'timeout' | 'refused';
      durationMs: number;
      errorType?: string;
      /** The function error document (never the payload). */
      error?: string;
      /** A cold start: the INIT duration of the execution environment this invocation started. */
      initDurationMs?: number;
    },
  ];
  /** Unexpected internal problem (never a client error). */
  error: [Error];
}

export type Emit = <K extends keyof GatewayEvents>(event: K, ...args: GatewayEvents[K]) => void;

/** Which handler run a `route` event is about. */
export type RouteSubject = Pick<
  GatewayEvents['route'][0],
  'connectionId' | 'routeKey' | 'handler' | 'requestId'
>;

/** The gateway's event bus: a listener's bug never breaks the gateway, and `error` needs no listener. */
export function createEventBus(): { emitter: EventEmitter; emit: Emit } {
  const emitter = new EventEmitter();
  const emit: Emit = (event, ...args) => {
    if (event === 'error' && emitter.listenerCount('error') === 0) return;
    try {
      emitter.emit(event, ...args);
    } catch {
      // a listener's bug must not break the gateway
    }
  };
  return { emitter, emit };
}

/** Emits the `route` event of a handler run that began at `started`. */
export function reportRoute(
  emit: Emit,
  subject: RouteSubject,
  started: number,
  outcome: RouteOutcome,
  details: Pick<
    GatewayEvents['route'][0],
    'status' | 'responseBytes' | 'response' | 'error' | 'initDurationMs'
  > = {},
): void {
  const { initDurationMs, ...rest } = details;
  emit('route', {
    ...subject,
    outcome,
    durationMs: Date.now() - started,
    ...rest,
    ...(initDurationMs !== undefined ? { initDurationMs } : {}),
  });
}

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

export function errorMessage(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}
