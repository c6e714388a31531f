import type { WebSocketEvent, WebSocketResult } from '../events.js';
import { flushMetrics } from '../metrics.js';
import { type LambdaHandler, webSocketLogKeys, wrapInvocation } from './invocation.js';

export interface ConnectionRouteFailure {
  /** Log message of an unexpected failure. */
  message: string;
  /** The answer instead: on `$connect` the handshake's HTTP status (and body); API Gateway ignores `$disconnect`'s. */
  answer: WebSocketResult;
}

/**
 * `$connect` / `$disconnect`: the same log keys as a message route, an unexpected failure logged
 * and answered with `failure.answer`, metrics flushed. No token-expiry check: `$connect` is where
 * a fresh token arrives, and `$disconnect` must clean up whatever the token says.
 */
export function connectionRoute(
  failure: ConnectionRouteFailure,
  run: (event: WebSocketEvent) => Promise<WebSocketResult>,
): LambdaHandler<WebSocketEvent, WebSocketResult> {
  return wrapInvocation(
    {
      logKeys: webSocketLogKeys,
      failureMessage: failure.message,
      failureOutcome: 'internal',
      failureAnswer: () => failure.answer,
      finish: flushMetrics,
    },
    run,
  );
}
