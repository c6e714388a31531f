import { runWithEnv } from './env.js';
import { type Emit, errorMessage, type RouteSubject, reportRoute } from './events.js';
import { localFunctionName } from './ids.js';
import type { HandlerLoader, LambdaContext } from './loader.js';

/** The integration timeout elapsed before the handler answered. */
export class HandlerTimeout extends Error {}

/** Runs one handler on one event; rejects with HandlerTimeout past the integration timeout. */
export type Invoke = (handlerName: string, event: unknown, requestId: string) => Promise<unknown>;

export interface InvokerSettings {
  loader: HandlerLoader;
  /** Read at each invocation: the gateway completes it after listening. */
  env: Readonly<Record<string, string>>;
  region: string;
  accountId: string;
  apiId: string;
  handlerTimeoutMs: number;
}

/** Invokes handlers like Lambda does: in this process, with the gateway's env, bounded by the timeout. */
export function createInvoker(settings: InvokerSettings): Invoke {
  const { loader, env, region, accountId, apiId, handlerTimeoutMs } = settings;
  return async (handlerName, event, requestId) => {
    const started = Date.now();
    const functionName = localFunctionName(handlerName);
    const context: LambdaContext = {
      awsRequestId: requestId,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
      memoryLimitInMB: '256',
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: `local/${apiId}`,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, handlerTimeoutMs - (Date.now() - started)),
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new HandlerTimeout(`${handlerName} timed out after ${handlerTimeoutMs} ms`)),
        handlerTimeoutMs,
      );
    });
    try {
      // The handler (and its module's first evaluation) sees this gateway's env only.
      const run = runWithEnv(env, async () => {
        const handler = await loader.load(handlerName);
        return await handler(event, context);
      });
      run.catch(() => {}); // a late failure after the timeout is not unhandled
      return await Promise.race([run, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Emits the `route` event of a handler run that threw or timed out. */
export function reportFailure(emit: Emit, subject: RouteSubject, started: number, error: unknown): void {
  const outcome = error instanceof HandlerTimeout ? 'timeout' : 'error';
  reportRoute(emit, subject, started, outcome, { error: errorMessage(error) });
}
