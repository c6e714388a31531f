/**
 * The peer under test, in a child process of the bench: serverless-offline (run in this process,
 * as `serverless offline start` would) with the same handler bundles, handler environment and
 * dynalite store (apps/relay's startStore, in this process too) as the relay. Its service folder
 * and store live in a temporary folder under bench/.peers, removed on close.
 *
 * Plain (the default): the service folder holds copies of the bundles. Instrumented
 * (BENCH_INSTRUMENTED=1): it holds the same wrapper modules the instrumented relay loads
 * (instrumented-bundles.mjs: each imports instrument.mjs and the unchanged bundle), so both servers'
 * invocations are timed and their DynamoDB requests and management posts counted the same way.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { serveChild } from './child-runtime.mjs';
import { peerDir, SLS_ENV, serverlessYaml } from './peers/serverless-offline.mjs';

const instrumented = process.env.BENCH_INSTRUMENTED === '1';
// Loaded only when asked for; installed in this thread too, in case a handler runs in it.
const instrument = instrumented ? await import('./instrument.mjs') : undefined;
instrument?.install();

const root = new URL('../../', import.meta.url);
const bundlesDir = process.env.BENCH_PEER_BUNDLES || new URL('packages/handlers/dist', root).pathname;
const { ROUTES, AUTHORIZER } = await import(new URL('packages/handlers/dist/lib/routes.js', root).href);
const { startStore } = await import(new URL('apps/relay/dist/store.js', root).href);
const { generateCredentials } = await import(new URL('packages/local-gateway/dist/index.js', root).href);

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function accepting(port) {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const runDir = mkdtempSync(join(peerDir, 'run-'));
// The store verifies SigV4 like DynamoDB: the handlers sign with this key pair, as in the relay.
const credentials = generateCredentials();
const store = await startStore(join(runDir, 'store'), 'mpc-relay', 'us-east-1', { credentials });
const [websocketPort, httpPort, lambdaPort] = [await freePort(), await freePort(), await freePort()];
// The relay's handler environment (apps/relay handlerEnv), with this emulator's endpoints.
const env = {
  TABLE_NAME: 'mpc-relay',
  DYNAMODB_ENDPOINT: store.endpoint,
  MANAGEMENT_ENDPOINT: `http://127.0.0.1:${websocketPort}`,
  AUTH_MODE: 'static',
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  POWERTOOLS_SERVICE_NAME: 'mpc-relay',
  POWERTOOLS_METRICS_NAMESPACE: 'MpcRelay',
  LOG_LEVEL: 'ERROR',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
const authorizer = { handler: AUTHORIZER.handler, identitySources: AUTHORIZER.identitySources.static };
const { yaml, handlers } = serverlessYaml({ routes: ROUTES, authorizer, env });
if (instrument) {
  const { writeInstrumentedBundles } = await import('./instrumented-bundles.mjs');
  writeInstrumentedBundles(bundlesDir, join(runDir, 'bundles'), handlers);
} else {
  for (const name of handlers) {
    mkdirSync(join(runDir, 'bundles', name), { recursive: true });
    cpSync(join(bundlesDir, name, 'index.mjs'), join(runDir, 'bundles', name, 'index.mjs'));
  }
}
writeFileSync(join(runDir, 'serverless.yml'), yaml);

Object.assign(process.env, SLS_ENV, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
process.chdir(runDir);
const bin = join(peerDir, 'node_modules', 'serverless', 'bin', 'serverless.js');
process.argv = [
  process.execPath,
  bin,
  'offline',
  'start',
  '--host',
  '127.0.0.1',
  '--websocketPort',
  String(websocketPort),
  '--httpPort',
  String(httpPort),
  '--lambdaPort',
  String(lambdaPort),
];
await import(bin);
const deadline = Date.now() + 150_000;
while (!(await accepting(websocketPort))) {
  if (Date.now() > deadline) throw new Error('serverless-offline did not listen within 150 s');
  await new Promise((r) => setTimeout(r, 100));
}

/** HTTP requests the store process has answered since it started (its own counter), if it says. */
async function storeRequests() {
  try {
    const stats = await store.stats?.();
    return typeof stats?.requests === 'number' ? stats.requests : undefined;
  } catch {
    return undefined;
  }
}

let storeBase;
// serverless-offline does not say how many worker threads run handlers: every thread that answers
// within ENVIRONMENTS_WAIT_MS is counted (they are idle whenever the bench asks).
const ENVIRONMENTS_WAIT_MS = 1500;

serveChild(
  {
    counters: async () => {
      const now = await storeRequests();
      const common = {
        instrumented,
        storeRequests: now !== undefined && storeBase !== undefined ? now - storeBase : undefined,
      };
      if (!instrument) return common;
      const { handlersCounter: _, ...counts } = await instrument.snapshotAll(undefined, ENVIRONMENTS_WAIT_MS);
      return { ...counts, ...common };
    },
    reset: async () => {
      storeBase = await storeRequests();
      if (instrument) await instrument.resetAll(undefined, ENVIRONMENTS_WAIT_MS);
      return true;
    },
  },
  async () => {
    await store.close().catch(() => {});
    rmSync(runDir, { recursive: true, force: true });
  },
);
process.send({ type: 'ready', url: `ws://127.0.0.1:${websocketPort}`, runDir, instrumented });
