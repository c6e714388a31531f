import type { Context } from 'aws-lambda';
import type { WebSocketEvent } from '../events.js';
import { peerFromContext } from '../events.js';
import { describeError, logger } from '../logger.js';

/** A Lambda handler as API Gateway and the Invoke API call it (tests omit the context). */
export type LambdaHandler<E, R> = (event: E, context?: Context) => Promise<R>;

/** What one handler kind does around every invocation of its body. */
export interface InvocationKind<E, R> {
  /** Keys appended to every log line of the invocation. */
  logKeys(event: E): Record<string, unknown>;
  /** Log message of an unexpected failure (logged at ERROR with the error's name and message). */
  failureMessage: string;
  /** The `outcome` field of that line. */
  failureOutcome: string;
  /** What the caller gets instead of the thrown error. */
  failureAnswer(): R;
  /** Runs after every invocation, failed or not (the metrics flush). */
  finish?(): void;
}

/**
 * The one place an invocation starts and ends: keys of the previous invocation dropped (a warm
 * container reuses the logger), the Lambda context added (request id, function, `cold_start`),
 * the kind's keys appended; an unexpected failure logged and turned into the kind's answer, never
 * thrown to the runtime; then `finish`.
 */
export function wrapInvocation<E, R>(
  kind: InvocationKind<E, R>,
  run: (event: E) => Promise<R>,
): LambdaHandler<E, R> {
  return async (event, context) => {
    try {
      logger.resetKeys();
      if (isLambdaContext(context)) logger.addContext(context);
      logger.appendKeys(kind.logKeys(event));
      return await run(event);
    } catch (error) {
      logger.error(kind.failureMessage, { outcome: kind.failureOutcome, ...describeError(error) });
      return kind.failureAnswer();
    } finally {
      kind.finish?.();
    }
  };
}

// The local gateway and the tests may call a handler without a context, or with a partial one.
function isLambdaContext(context: unknown): context is Context {
  return typeof context === 'object' && context !== null && 'awsRequestId' in context;
}

/** Log keys of a WebSocket event: connection, route, request, and the authenticated peer. */
export function webSocketLogKeys(event: WebSocketEvent): Record<string, unknown> {
  const requestContext = event?.requestContext;
  const peer = requestContext ? peerFromContext(requestContext) : undefined;
  return {
    connectionId: requestContext?.connectionId,
    routeKey: requestContext?.routeKey,
    requestId: requestContext?.requestId,
    ...(peer ? { peerType: peer.type, peerId: peer.id } : {}),
  };
}
