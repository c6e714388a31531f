import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A Lambda handler as the bundles export it. */
export type LambdaHandler = (event: unknown, context: LambdaContext) => unknown;

/** The parts of the Lambda context object handlers (and Powertools) read. */
export interface LambdaContext {
  awsRequestId: string;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

export interface HandlerLoader {
  /** Loads (once per version) the `handler` export of `<dir>/<name>/index.mjs`. */
  load(name: string): Promise<LambdaHandler>;
  /** Forgets loaded modules: the next event of each handler imports its bundle again. */
  reload(): void;
  /** How many times reload() was called. */
  readonly version: number;
  readonly dir: string;
}

let instanceCounter = 0;

/**
 * Loads handler bundles with dynamic import in this process (no process per invocation). Each
 * loader, and each reload, imports the bundle under a new URL query, so two gateways in one process
 * never share module state and `reload()` takes new code without touching open connections.
 */
export function createHandlerLoader(dir: string): HandlerLoader {
  const instance = ++instanceCounter;
  let version = 0;
  let cache = new Map<string, Promise<LambdaHandler>>();
  return {
    dir,
    get version() {
      return version;
    },
    load(name) {
      let loaded = cache.get(name);
      if (!loaded) {
        loaded = importHandler(dir, name, `gw=${instance}&v=${version}`);
        // A failed import (bundle not built yet) is retried on the next event.
        loaded.catch(() => cache.delete(name));
        cache.set(name, loaded);
      }
      return loaded;
    },
    reload() {
      version++;
      cache = new Map();
    },
  };
}

async function importHandler(dir: string, name: string, query: string): Promise<LambdaHandler> {
  const file = join(dir, name, 'index.mjs');
  if (!existsSync(file)) throw new Error(`handler bundle not found: ${file}`);
  const mod = (await import(`${pathToFileURL(file).href}?${query}`)) as { handler?: unknown };
  if (typeof mod.handler !== 'function') throw new Error(`${file} does not export a handler function`);
  return mod.handler as LambdaHandler;
}
