import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { HandlerTimeout } from './invoke-errors.js';

/** Reserved concurrency of the function was reached: Lambda throttles (429 TooManyRequestsException). */
export class FunctionThrottled extends Error {
  override name = 'TooManyRequestsException';
  readonly reason = 'ReservedFunctionConcurrentInvocationLimitExceeded';
}

/** The environment's runtime died during an invocation (process.exit, a crash, an unhandled rejection). */
export class RuntimeExited extends Error {
  override name = 'Runtime.ExitError';
}

/**
 * The environment used more memory than the function has: Lambda stops it (`Runtime.OutOfMemory`),
 * the invocation fails and the next one is a cold start.
 */
export class RuntimeOutOfMemory extends RuntimeExited {
  override name = 'Runtime.OutOfMemory';
}

/**
 * The V8 heap Lambda's Node.js runtime gives a function of `memoryMb` (its bootstrap starts node
 * with `--max-semi-space-size` = new space / 2 and `--max-old-space-size` = memory - new space,
 * new space being a tenth of the memory), as a worker's resource limits: V8's young generation is
 * three semi-spaces (two plus the new large object space).
 */
export function lambdaHeapLimits(memoryMb: number): ResourceLimits {
  const newSpace = Math.floor(memoryMb / 10);
  const semiSpace = Math.floor(newSpace / 2);
  return { maxYoungGenerationSizeMb: 3 * semiSpace, maxOldGenerationSizeMb: memoryMb - newSpace };
}

export interface EnvironmentSettings {
  /**
   * Reserved concurrency per function (handler name), or one number for all: invocations in flight
   * (running or waiting for an environment) beyond it are throttled, as Lambda does. Default: none
   * (Lambda's unreserved account pool is 1000; locally the environments cap below applies instead).
   */
  reservedConcurrency?: number | Readonly<Record<string, number>>;
  /**
   * Execution environments (worker threads) per function at most. Past it an invocation waits for
   * one to be free (not throttled): a local resource cap, not a Lambda rule. Default 2.
   */
  maxEnvironments?: number;
  /** An environment unused this long is shut down; the next invocation is a cold start. Default 10 min. */
  idleTimeoutMs?: number;
  /**
   * `context.memoryLimitInMB`, AWS_LAMBDA_FUNCTION_MEMORY_SIZE and the environment's heap limits
   * (`lambdaHeapLimits`): an environment that outgrows them dies (`Runtime.OutOfMemory`). Default 256.
   */
  memoryMb?: number;
}

export const DEFAULT_ENVIRONMENT_SETTINGS = {
  maxEnvironments: 2,
  idleTimeoutMs: 600_000,
  memoryMb: 256,
} as const;

/** What one invocation reports besides its result. */
export interface InvocationReport {
  /** Set on a cold start: the INIT phase (module load) of the environment this invocation created. */
  initDurationMs?: number;
  /** Which environment ran it (its log stream name). */
  environment: string;
}

export interface FunctionIdentity {
  functionName: string;
  invokedFunctionArn: string;
  logGroupName: string;
}

interface PoolDependencies {
  handlersDir: string;
  settings: EnvironmentSettings;
  handlerTimeoutMs: number;
  /** The function's environment variables, read when an environment starts. */
  env: () => Readonly<Record<string, string>>;
  identity: (handler: string) => FunctionIdentity;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface Environment {
  worker: Worker;
  logStreamName: string;
  generation: number;
  ready: Promise<number>;
  busy: boolean;
  pending?: Pending;
  idleTimer?: NodeJS.Timeout;
  dead: boolean;
  /** The worker reached its heap limit (its `exit` follows). */
  outOfMemory?: boolean;
}

const workerUrl = new URL('../worker/environment.mjs', import.meta.url);
let nextInvocation = 1;

/** Lambda's log stream name of one environment: `YYYY/MM/DD/[$LATEST]<32 hex>`. */
function logStreamName(): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

/** The environments of one function. */
class FunctionPool {
  private readonly environments = new Set<Environment>();
  private readonly waiting: {
    resolve: (acquired: { env: Environment; cold: boolean }) => void;
    reject: (error: Error) => void;
  }[] = [];
  private inFlight = 0;
  private generation = 0;
  private closed = false;

  constructor(
    private readonly handler: string,
    private readonly deps: PoolDependencies,
  ) {}

  private get reserved(): number | undefined {
    const r = this.deps.settings.reservedConcurrency;
    return typeof r === 'number' ? r : r?.[this.handler];
  }

  private get max(): number {
    return Math.max(1, this.deps.settings.maxEnvironments ?? DEFAULT_ENVIRONMENT_SETTINGS.maxEnvironments);
  }

  async invoke(event: unknown, requestId: string): Promise<{ result: unknown; report: InvocationReport }> {
    if (this.closed) throw new Error(`${this.handler}: the gateway is closing`);
    const reserved = this.reserved;
    if (reserved !== undefined && this.inFlight >= reserved)
      throw new FunctionThrottled(`Rate Exceeded. (${this.handler}: reserved concurrency ${reserved})`);
    this.inFlight++;
    let env: Environment | undefined;
    try {
      const acquired = await this.acquire();
      env = acquired.env;
      const initMs = await env.ready;
      const result = await this.run(env, event, requestId);
      return {
        result,
        report: {
          environment: env.logStreamName,
          ...(acquired.cold ? { initDurationMs: Math.round(initMs * 100) / 100 } : {}),
        },
      };
    } finally {
      this.inFlight--;
      if (env) this.release(env);
    }
  }

  private acquire(): Promise<{ env: Environment; cold: boolean }> {
    // Most recently used first, like Lambda: the warmest environment takes the next event
    // (release() moves an environment to the end of the set).
    const idle = [...this.environments].reverse().find((e) => !e.busy && !e.dead);
    if (idle) {
      this.claim(idle);
      return Promise.resolve({ env: idle, cold: false });
    }
    if (this.environments.size < this.max) {
      const env = this.start();
      this.claim(env);
      return Promise.resolve({ env, cold: true });
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private claim(env: Environment): void {
    env.busy = true;
    clearTimeout(env.idleTimer);
  }

  private release(env: Environment): void {
    env.busy = false;
    if (env.dead || env.generation !== this.generation || this.closed) {
      this.stop(env);
      // A retired environment frees its slot: a waiting invocation gets a fresh one.
      const next = this.waiting.shift();
      if (next) {
        try {
          const fresh = this.start();
          this.claim(fresh);
          next.resolve({ env: fresh, cold: true });
        } catch (error) {
          next.reject(error as Error);
        }
      }
      return;
    }
    const next = this.waiting.shift();
    if (next) {
      this.claim(env);
      next.resolve({ env, cold: false });
      return;
    }
    this.environments.delete(env);
    this.environments.add(env);
    env.idleTimer = setTimeout(
      () => this.stop(env),
      this.deps.settings.idleTimeoutMs ?? DEFAULT_ENVIRONMENT_SETTINGS.idleTimeoutMs,
    );
    env.idleTimer.unref();
  }

  private start(): Environment {
    const file = join(this.deps.handlersDir, this.handler, 'index.mjs');
    // A bundle not built yet fails this invocation; the next one looks again.
    if (!existsSync(file)) throw new Error(`handler bundle not found: ${file}`);
    const identity = this.deps.identity(this.handler);
    const memoryMb = this.deps.settings.memoryMb ?? DEFAULT_ENVIRONMENT_SETTINGS.memoryMb;
    const stream = logStreamName();
    const context = {
      functionName: identity.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: identity.invokedFunctionArn,
      memoryLimitInMB: String(memoryMb),
      logGroupName: identity.logGroupName,
      logStreamName: stream,
    };
    // What Lambda sets in every environment, then the function's own variables.
    const env: Record<string, string | undefined> = {
      ...process.env,
      AWS_LAMBDA_FUNCTION_NAME: identity.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: identity.logGroupName,
      AWS_LAMBDA_LOG_STREAM_NAME: stream,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: `AWS_Lambda_nodejs${process.versions.node.split('.')[0]}.x`,
      LAMBDA_TASK_ROOT: join(this.deps.handlersDir, this.handler),
      _HANDLER: 'index.handler',
      ...this.deps.env(),
    };
    env.AWS_DEFAULT_REGION ??= env.AWS_REGION;
    const worker = new Worker(workerUrl, {
      workerData: { bundleUrl: `${pathToFileURL(file).href}`, context },
      env,
      resourceLimits: lambdaHeapLimits(memoryMb),
      // The handler's console output goes where this process's goes, as a Lambda's goes to its log.
      stdout: false,
      stderr: false,
    });
    worker.unref();
    const environment: Environment = {
      worker,
      logStreamName: stream,
      generation: this.generation,
      busy: false,
      dead: false,
      ready: new Promise<number>((resolve, reject) => {
        worker.once(
          'message',
          (message: { type: string; ok: boolean; initMs: number; error?: WireError }) => {
            if (message.type === 'init' && message.ok) resolve(message.initMs);
            else reject(fromWire(message.error ?? { name: 'Error', message: 'init failed' }));
          },
        );
        worker.once('exit', (code) =>
          reject(new RuntimeExited(`environment exited during init (code ${code})`)),
        );
      }),
    };
    environment.ready.catch(() => {
      // A failed INIT: this environment is discarded, the next invocation starts a new one.
      environment.dead = true;
    });
    worker.on('message', (message: { id?: number; ok: boolean; result?: string; error?: WireError }) => {
      const pending = environment.pending;
      if (message.id === undefined || !pending) return;
      environment.pending = undefined;
      clearTimeout(pending.timer);
      if (message.ok) pending.resolve(message.result === undefined ? undefined : JSON.parse(message.result));
      else pending.reject(fromWire(message.error ?? { name: 'Error', message: 'unknown error' }));
    });
    worker.on('error', (error: NodeJS.ErrnoException) => {
      environment.dead = true;
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') environment.outOfMemory = true;
    });
    worker.on('exit', (code) => {
      environment.dead = true;
      this.environments.delete(environment);
      const pending = environment.pending;
      environment.pending = undefined;
      if (pending) {
        clearTimeout(pending.timer);
        pending.reject(
          environment.outOfMemory
            ? new RuntimeOutOfMemory('Runtime exited with error: signal: killed')
            : new RuntimeExited(`Runtime exited with error: exit status ${code}`),
        );
      }
    });
    this.environments.add(environment);
    return environment;
  }

  private run(env: Environment, event: unknown, requestId: string): Promise<unknown> {
    const timeoutMs = this.deps.handlerTimeoutMs;
    return new Promise((resolve, reject) => {
      if (env.dead) {
        reject(new RuntimeExited('environment is gone'));
        return;
      }
      const timer = setTimeout(() => {
        env.pending = undefined;
        // Lambda stops a timed-out environment: the next invocation is a cold start.
        env.dead = true;
        void env.worker.terminate();
        reject(new HandlerTimeout(`${this.handler} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      env.pending = { resolve, reject, timer };
      env.worker.postMessage({
        id: nextInvocation++,
        requestId,
        event: JSON.stringify(event),
        deadline: Date.now() + timeoutMs,
      });
    });
  }

  private stop(env: Environment): void {
    clearTimeout(env.idleTimer);
    env.dead = true;
    this.environments.delete(env);
    void env.worker.terminate();
  }

  /** Environments started before this are retired: idle ones now, busy ones once they answer. */
  recycle(): void {
    this.generation++;
    for (const env of this.environments) if (!env.busy) this.stop(env);
  }

  size(): number {
    return this.environments.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.environments];
    this.environments.clear();
    await Promise.all(all.map((e) => e.worker.terminate().catch(() => 0)));
  }
}

interface WireError {
  name: string;
  message: string;
  stack?: string;
}

function fromWire(wire: WireError): Error {
  const error = new Error(wire.message);
  error.name = wire.name;
  if (wire.stack) error.stack = wire.stack;
  return error;
}

export interface EnvironmentPools {
  invoke(
    handler: string,
    event: unknown,
    requestId: string,
  ): Promise<{ result: unknown; report: InvocationReport }>;
  /** Retires every environment (new code on the next invocation); open connections are untouched. */
  recycle(): void;
  /** Running environments per function. */
  sizes(): Record<string, number>;
  close(): Promise<void>;
}

export function createEnvironmentPools(deps: PoolDependencies): EnvironmentPools {
  const pools = new Map<string, FunctionPool>();
  const poolOf = (handler: string) => {
    let pool = pools.get(handler);
    if (!pool) {
      pool = new FunctionPool(handler, deps);
      pools.set(handler, pool);
    }
    return pool;
  };
  return {
    invoke: (handler, event, requestId) => poolOf(handler).invoke(event, requestId),
    recycle: () => {
      for (const pool of pools.values()) pool.recycle();
    },
    sizes: () => Object.fromEntries([...pools].map(([name, pool]) => [name, pool.size()])),
    close: async () => {
      await Promise.all([...pools.values()].map((p) => p.close()));
    },
  };
}
