import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionInfo, closeConnection, describeConnection } from './connection.js';
import { GOING_AWAY } from './connection-limits.js';
import { createConnectionRegistry } from './connection-registry.js';
import { asError, createEventBus, type GatewayEvents } from './events.js';
import { createHandshake } from './handshake.js';
import { apiLikeId } from './ids.js';
import { createInvoker } from './invoke.js';
import { createLambdaApi, isLambdaApiPath } from './lambda-api.js';
import { createHandlerLoader, type HandlerLoader } from './loader.js';
import { createManagementApi, sendError } from './management.js';
import { type LocalGatewayOptions, resolveOptions } from './options.js';
import { createRouter } from './routing.js';
import { type AwsCredentials, createSigV4Verifier } from './sigv4.js';
import { rejectHandshake } from './upgrade.js';

export interface LocalGateway {
  url: string;
  managementEndpoint: string;
  /**
   * Endpoint of the Lambda Invoke API for the directly invoked functions (`http://HOST:PORT`):
   * `aws lambda invoke --endpoint-url` / `new LambdaClient({ endpoint })`.
   */
  lambdaEndpoint: string;
  /** Handlers the Lambda Invoke API runs (default `['broadcast']`). */
  functions: readonly string[];
  /** The key pair the management API and the Lambda Invoke API accept (SigV4), and the handlers sign with. */
  credentials: AwsCredentials;
  /** Region of the signing scopes (and of ARNs). */
  region: string;
  port: number;
  host: string;
  stage: string;
  apiId: string;
  loader: HandlerLoader;
  /** Open (and opening) connections. */
  connections(): ConnectionInfo[];
  /**
   * The next event of every handler runs its bundle anew: execution environments are retired (idle
   * ones now, busy ones once they answer), so the next invocation is a cold start; open
   * connections stay open.
   */
  reloadHandlers(): void;
  /** Running execution environments per function (empty with `execution: 'in-process'`). */
  environments(): Record<string, number>;
  on<K extends keyof GatewayEvents>(event: K, listener: (...args: GatewayEvents[K]) => void): LocalGateway;
  off<K extends keyof GatewayEvents>(event: K, listener: (...args: GatewayEvents[K]) => void): LocalGateway;
  /** Closes every connection (1001 Going away, `$disconnect` run), then the server. */
  close(): Promise<void>;
}

/** Starts an API Gateway WebSocket API emulator: WebSocket and management API on one port. */
export async function createLocalGateway(options: LocalGatewayOptions = {}): Promise<LocalGateway> {
  const settings = await resolveOptions(options);
  const { host, stage, limits } = settings;
  const api = { apiId: apiLikeId(), stage };
  const loader = createHandlerLoader(settings.handlersDir);
  const { emitter, emit } = createEventBus();
  // Work close() waits for: upgrades in progress and every connection's queued events.
  const pending = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.add(promise);
    promise.then(
      () => pending.delete(promise),
      () => pending.delete(promise),
    );
    return promise;
  };
  let shuttingDown = false;

  const invoker = createInvoker({
    ...settings,
    loader,
    apiId: api.apiId,
    handlerTimeoutMs: limits.handlerTimeoutMs,
  });
  const { invoke } = invoker;
  const router = createRouter({
    routes: settings.routes,
    api,
    invoke,
    emit,
    maxFrameBytes: limits.maxFrameBytes,
  });
  const registry = createConnectionRegistry({ emit, track, runDisconnect: router.runDisconnect });
  const handleUpgrade = createHandshake({
    settings,
    api,
    invoke,
    emit,
    router,
    registry,
    isShuttingDown: () => shuttingDown,
  });
  const verifier = (service: 'execute-api' | 'lambda') =>
    createSigV4Verifier({
      service,
      region: settings.region,
      credentials: settings.credentials,
      now: settings.clock,
    });
  const handleManagement = createManagementApi({
    stage,
    limits,
    registry,
    emit,
    verifier: verifier('execute-api'),
  });
  const handleInvoke = createLambdaApi({
    functions: settings.functions,
    routeHandlers: [
      ...settings.routes.map((r) => r.handler),
      ...(settings.authorizer ? [settings.authorizer.handler] : []),
    ],
    region: settings.region,
    accountId: settings.accountId,
    handlerTimeoutMs: limits.handlerTimeoutMs,
    invoke,
    emit,
    track,
    verifier: verifier('lambda'),
  });

  const server: Server = createServer((req, res) => {
    try {
      if (!isLambdaApiPath(req.url) && options.serveHttp?.(req, res)) return;
    } catch (error) {
      emit('error', asError(error));
      if (!res.headersSent) sendError(res, 500, 'InternalServerErrorException', 'Internal server error');
      return;
    }
    const handle = isLambdaApiPath(req.url) ? handleInvoke : handleManagement;
    handle(req, res).catch((error: unknown) => {
      emit('error', asError(error));
      if (!res.headersSent) sendError(res, 500, 'InternalServerErrorException', 'Internal server error');
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(
      handleUpgrade(req, socket, head).catch((error: unknown) => {
        emit('error', asError(error));
        rejectHandshake(socket, 500, '{"message":"Internal Server Error"}');
      }),
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const managementEndpoint = `http://${urlHost}:${port}/${stage}`;
  // The invoker reads this same object: handlers see the endpoint from their first event on.
  settings.env.MANAGEMENT_ENDPOINT ??= managementEndpoint;

  const gateway: LocalGateway = {
    url: `ws://${urlHost}:${port}/${stage}`,
    managementEndpoint,
    lambdaEndpoint: `http://${urlHost}:${port}`,
    functions: settings.functions,
    credentials: settings.credentials,
    region: settings.region,
    port,
    host,
    stage,
    apiId: api.apiId,
    loader,
    connections: () => registry.all().map(describeConnection),
    reloadHandlers: () => invoker.reload(),
    environments: () => invoker.environments(),
    on(event, listener) {
      emitter.on(event, listener as (...args: unknown[]) => void);
      return gateway;
    },
    off(event, listener) {
      emitter.off(event, listener as (...args: unknown[]) => void);
      return gateway;
    },
    async close() {
      if (shuttingDown) return;
      shuttingDown = true;
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const conn of registry.all()) {
        if (conn.state === 'open') closeConnection(conn, GOING_AWAY.code, GOING_AWAY.reason, 'shutdown');
      }
      // Wait (bounded) for the closing handshakes and every $disconnect / in-flight handler.
      const deadline = Date.now() + Math.min(limits.handlerTimeoutMs, 10_000) + 1_000;
      while ((pending.size > 0 || registry.all().some((c) => c.state === 'open')) && Date.now() < deadline) {
        // A timer, never only microtasks: the closing handshakes need the event loop to run.
        await new Promise((r) => setTimeout(r, 10));
        if (pending.size > 0)
          await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, 50))]);
      }
      for (const conn of registry.all()) conn.ws?.terminate();
      server.closeAllConnections();
      await serverClosed;
      await invoker.close();
    },
  };
  return gateway;
}
