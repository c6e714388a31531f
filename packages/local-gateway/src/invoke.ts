import { runWithEnv } from './env.js';
import {
  createEnvironmentPools,
  type EnvironmentPools,
  type EnvironmentSettings,
  FunctionThrottled,
} from './environments.js';
import { type Emit, errorMessage, type RouteSubject, reportRoute } from './events.js';
import { localFunctionName } from './ids.js';
import { HandlerTimeout } from './invoke-errors.js';
import type { HandlerLoader, LambdaContext } from './loader.js';

export { HandlerTimeout } from './invoke-errors.js';

/** A handler's answer, and what Lambda would log about the invocation. */
export interface Invocation {
  result: unknown;
  /** Set on a cold start: the INIT duration of the environment this invocation started. */
  initDurationMs?: number;
  /** The execution environment that ran it (its log stream name); absent in-process. */
  environment?: string;
}

/** Runs one handler on one event; rejects with HandlerTimeout past the integration timeout. */
export type Invoke = (handlerName: string, event: unknown, requestId: string) => Promise<Invocation>;

/**
 * `environments`: Lambda's model, one pool of worker threads per function, each with its own
 * module instance and process.env and one invocation at a time. `in-process`: every invocation of
 * every function in this thread, in one module instance per function (handlers that share state
 * through globalThis with the caller, e.g. test fixtures).
 */
export type ExecutionModel = 'environments' | 'in-process';

export interface InvokerSettings {
  execution: ExecutionModel;
  environments: EnvironmentSettings;
  loader: HandlerLoader;
  handlersDir: string;
  /** Read at each invocation (in-process) or environment start: the gateway completes it after listening. */
  env: Readonly<Record<string, string>>;
  region: string;
  accountId: string;
  apiId: string;
  handlerTimeoutMs: number;
}

export interface Invoker {
  invoke: Invoke;
  /** New code on the next invocation: environments are retired, the loader forgets its modules. */
  reload(): void;
  /** Running execution environments per function (empty in-process). */
  environments(): Record<string, number>;
  close(): Promise<void>;
}

function identity(handlerName: string, region: string, accountId: string) {
  const functionName = localFunctionName(handlerName);
  return {
    functionName,
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    logGroupName: `/aws/lambda/${functionName}`,
  };
}

export function createInvoker(settings: InvokerSettings): Invoker {
  if (settings.execution === 'in-process') {
    const invoke = createInProcessInvoker(settings);
    return {
      invoke,
      reload: () => settings.loader.reload(),
      environments: () => ({}),
      close: async () => {},
    };
  }
  const pools: EnvironmentPools = createEnvironmentPools({
    handlersDir: settings.handlersDir,
    settings: settings.environments,
    handlerTimeoutMs: settings.handlerTimeoutMs,
    env: () => settings.env,
    identity: (name) => identity(name, settings.region, settings.accountId),
  });
  return {
    invoke: async (handlerName, event, requestId) => {
      const { result, report } = await pools.invoke(handlerName, event, requestId);
      return { result, environment: report.environment, initDurationMs: report.initDurationMs };
    },
    reload: () => {
      settings.loader.reload();
      pools.recycle();
    },
    environments: () => pools.sizes(),
    close: () => pools.close(),
  };
}

/** Invokes handlers in this thread, with the gateway's env, bounded by the timeout. */
function createInProcessInvoker(settings: InvokerSettings): Invoke {
  const { loader, env, region, accountId, apiId, handlerTimeoutMs } = settings;
  return async (handlerName, event, requestId) => {
    const started = Date.now();
    const { functionName, invokedFunctionArn, logGroupName } = identity(handlerName, region, accountId);
    const context: LambdaContext = {
      awsRequestId: requestId,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn,
      memoryLimitInMB: String(settings.environments.memoryMb ?? 256),
      logGroupName,
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
      return { result: await Promise.race([run, timeout]) };
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Emits the `route` event of a handler run that threw or timed out. */
export function reportFailure(emit: Emit, subject: RouteSubject, started: number, error: unknown): void {
  const outcome =
    error instanceof HandlerTimeout ? 'timeout' : error instanceof FunctionThrottled ? 'throttled' : 'error';
  reportRoute(emit, subject, started, outcome, { error: errorMessage(error) });
}
