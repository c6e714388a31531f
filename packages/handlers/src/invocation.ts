import { ErrorCode, type ErrorFrameInput, encodeError } from '@mpc-relay/protocol';
import type { Context } from 'aws-lambda';
import type { WebSocketEvent, WebSocketResult } from './events.js';
import { peerFromContext } from './events.js';
import { describeError, logger } from './logger.js';
import { count, flushMetrics } from './metrics.js';

/** A two-way answer: API Gateway sends `body` (when present) back to the caller. */
export function answer(body?: string): WebSocketResult {
  return body === undefined ? { statusCode: 200 } : { statusCode: 200, body };
}

/**
 * An error frame for the sender. Status 200 on purpose: a WebSocket frame has no status, so the
 * error lives in the frame's `code`; a 2xx keeps the answer an ordinary integration success on AWS
 * and locally (no integration-error alarms for a client's typo), and the connection stays open.
 */
export function errorAnswer(
  error: ErrorFrameInput,
  logFields: Record<string, unknown> = {},
): WebSocketResult {
  count('ErrorFrames');
  // The message may quote client input (JSON.parse errors do): log the code and field paths only.
  logger.info('error frame', {
    outcome: 'error',
    errorCode: error.code,
    ...(error.issues ? { issuePaths: error.issues.map((issue) => issue.path).slice(0, 10) } : {}),
    ...logFields,
  });
  return answer(encodeError(error));
}

export const INTERNAL_MESSAGE =
  'the relay failed to handle this frame; it was not accepted and is safe to retry';

/** Per-invocation logging keys: connection, route, request, and the authenticated peer. */
export function beginInvocation(event: WebSocketEvent, context: Context | undefined): void {
  logger.resetKeys();
  if (context && typeof context === 'object' && 'awsRequestId' in context) logger.addContext(context);
  const requestContext = event?.requestContext;
  const peer = requestContext ? peerFromContext(requestContext) : undefined;
  logger.appendKeys({
    connectionId: requestContext?.connectionId,
    routeKey: requestContext?.routeKey,
    requestId: requestContext?.requestId,
    ...(peer ? { peerType: peer.type, peerId: peer.id } : {}),
  });
}

type RouteHandler = (event: WebSocketEvent, context?: Context) => Promise<WebSocketResult>;

/**
 * Wraps a two-way message route: never throws; an unexpected failure is logged and answered with
 * an INTERNAL error frame (never API Gateway's bare "Internal server error").
 */
export function messageRoute(run: (event: WebSocketEvent) => Promise<WebSocketResult>): RouteHandler {
  return async (event, context) => {
    try {
      beginInvocation(event, context);
      return await run(event);
    } catch (error) {
      logger.error('unexpected failure', { outcome: 'internal', ...describeError(error) });
      return answer(encodeError({ code: ErrorCode.Internal, message: INTERNAL_MESSAGE }));
    } finally {
      flushMetrics();
    }
  };
}
