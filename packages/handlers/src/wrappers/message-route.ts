import { ErrorCode, encodeError } from '@mpc-relay/protocol';
import type { WebSocketEvent, WebSocketResult } from '../events.js';
import { answer, INTERNAL_MESSAGE, refuseExpiredToken } from '../invocation.js';
import { flushMetrics } from '../metrics.js';
import { type LambdaHandler, webSocketLogKeys, wrapInvocation } from './invocation.js';

/**
 * A two-way message route (`getConnectionId`, `sendServer`, `ack`, `ping`, `$default`): never
 * throws; an unexpected failure is logged and answered with an INTERNAL error frame (never API
 * Gateway's bare "Internal server error"). In jwt mode a frame from a connection whose token
 * expired is refused first (`refuseExpiredToken`), before the body runs.
 */
export function messageRoute(
  run: (event: WebSocketEvent) => Promise<WebSocketResult>,
): LambdaHandler<WebSocketEvent, WebSocketResult> {
  return wrapInvocation(
    {
      logKeys: webSocketLogKeys,
      failureMessage: 'unexpected failure',
      failureOutcome: 'internal',
      failureAnswer: () => answer(encodeError({ code: ErrorCode.Internal, message: INTERNAL_MESSAGE })),
      finish: flushMetrics,
    },
    async (event) => (await refuseExpiredToken(event)) ?? (await run(event)),
  );
}
