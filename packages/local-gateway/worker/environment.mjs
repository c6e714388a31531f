/**
 * One Lambda execution environment: a worker thread with its own module instance of one handler
 * bundle, its own process.env, and one invocation at a time (the pool never sends a second one
 * before the first answered). Plain JavaScript so the same file serves the TypeScript sources
 * (tests) and the compiled package (src/ and dist/ both reach it as ../worker/environment.mjs).
 *
 * Protocol (parent <-> this thread):
 *   -> { type: 'init', ok, initMs, error? }          once, after the bundle's module evaluated
 *   <- { id, requestId, event: JSON text, deadline }  one invocation
 *   -> { id, ok: true, result: JSON text | undefined } or { id, ok: false, error }
 * Events and results cross as JSON text, as they do on Lambda (a result that is not JSON-
 * serializable fails the same way) and because one string is cheaper to clone than an object tree.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

const { bundleUrl, context: shared } = workerData;

function describe(error) {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: typeof error, message: String(error) };
}

let handler;
const initStarted = performance.now();
try {
  const mod = await import(bundleUrl);
  if (typeof mod.handler !== 'function') throw new Error(`${bundleUrl} does not export a handler function`);
  handler = mod.handler;
  parentPort.postMessage({ type: 'init', ok: true, initMs: performance.now() - initStarted });
} catch (error) {
  parentPort.postMessage({
    type: 'init',
    ok: false,
    initMs: performance.now() - initStarted,
    error: describe(error),
  });
}

parentPort.on('message', async ({ id, requestId, event, deadline }) => {
  const context = {
    ...shared,
    awsRequestId: requestId,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const value = await handler(JSON.parse(event), context);
    parentPort.postMessage({ id, ok: true, result: value === undefined ? undefined : JSON.stringify(value) });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, error: describe(error) });
  }
});
