import { flushMetrics } from '../metrics.js';
import { type LambdaHandler, wrapInvocation } from './invocation.js';

export interface DirectInvocation<R> {
  /** The function's name in the log keys (`handler`): its events carry no connection or route. */
  name: string;
  /** Log message of an unexpected failure. */
  failureMessage: string;
  /** The result instead: a directly invoked function reports failures in its result, never throws. */
  failureResult: () => R;
}

/** A function invoked directly (Lambda Invoke API, e.g. `broadcast`). */
export function directInvocation<E, R>(
  options: DirectInvocation<R>,
  run: (event: E) => Promise<R>,
): LambdaHandler<E, R> {
  return wrapInvocation(
    {
      logKeys: () => ({ handler: options.name }),
      failureMessage: options.failureMessage,
      failureOutcome: 'internal',
      failureAnswer: options.failureResult,
      finish: flushMetrics,
    },
    run,
  );
}
