import { ErrorCode, type ErrorFrameInput, encodeError } from '@mpc-relay/protocol';
import type { WebSocketEvent, WebSocketResult } from './events.js';
import { tokenDeadlineMs } from './events.js';
import { logger } from './logger.js';
import { count } from './metrics.js';
import { managementEndpoint, posterFor } from './poster.js';

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

/**
 * jwt mode: the connection's token expired after it connected (`exp` + skew from the authorizer
 * context, compared with the clock: no DynamoDB request). The frame is not handled: the caller gets
 * a `TOKEN_EXPIRED` error frame, then the connection is closed (DeleteConnection) so the client
 * reconnects with a fresh token. The frame is POSTed rather than returned as the two-way body: a
 * Lambda cannot act after it returns, and a body returned after DeleteConnection would never be
 * sent. Returns undefined when the token is still valid (or there is none: static mode).
 */
export async function refuseExpiredToken(
  event: WebSocketEvent,
  nowMs = Date.now(),
): Promise<WebSocketResult | undefined> {
  const requestContext = event?.requestContext;
  const deadline = tokenDeadlineMs(requestContext);
  if (deadline === undefined || nowMs < deadline) return undefined;
  const { connectionId, routeKey } = requestContext;
  const exp = new Date(deadline).toISOString();
  const frame = encodeError({
    code: ErrorCode.TokenExpired,
    message: `your token expired (${exp}, clock skew included): reconnect with a fresh token`,
    // No clientMsgId: the connection is refused, not the message (resend it after reconnecting).
    ...(routeKey && !routeKey.startsWith('$') ? { action: routeKey } : {}),
  });
  count('ErrorFrames');
  count('TokenExpired');
  const override = process.env.MANAGEMENT_ENDPOINT?.trim() || undefined;
  const endpoint = managementEndpoint(override, requestContext);
  if (!endpoint) {
    logger.error('token expired but no management endpoint to close the connection', {
      outcome: 'error',
      errorCode: ErrorCode.TokenExpired,
    });
    return answer(frame);
  }
  const poster = posterFor(endpoint);
  const posted = await poster.post(connectionId, frame);
  const closed = posted.status === 'gone' ? posted : await poster.close(connectionId);
  logger.info('token expired: frame refused, connection closed', {
    outcome: 'error',
    errorCode: ErrorCode.TokenExpired,
    tokenDeadline: exp,
    posted: posted.status,
    closed: closed.status,
    ...(closed.status === 'failed' ? { errorName: closed.errorName } : {}),
  });
  return answer();
}
