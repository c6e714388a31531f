import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { EnvironmentSettings } from './environments.js';
import type { ExecutionModel } from './invoke.js';
import { type AwsCredentials, generateCredentials } from './sigv4.js';

/** A route as the route table of `@mpc-relay/handlers` declares it. */
export interface GatewayRoute {
  routeKey: string;
  handler: string;
  authorized?: boolean;
  twoWay?: boolean;
}

export interface GatewayAuthorizer {
  handler: string;
  /** e.g. `route.request.header.Authorization`, `route.request.querystring.token`. */
  identitySources: readonly string[];
}

export interface GatewayLimits {
  /** Idle connection timeout (AWS: 10 minutes); client data frames reset it. */
  idleTimeoutMs?: number;
  /** Connection duration (AWS: 2 hours). */
  maxLifetimeMs?: number;
  /** Integration timeout (AWS: 29 seconds). */
  handlerTimeoutMs?: number;
  /** WebSocket frame size (AWS: 32 KB); a larger frame closes with 1009. */
  maxFrameBytes?: number;
  /** Message payload size (AWS: 128 KB); a larger message closes with 1009, a larger post gets 413. */
  maxMessageBytes?: number;
  /**
   * Bytes the gateway holds for a client that does not read (beyond what the OS buffers): a post
   * that would pass it answers 410, so the sender keeps the message for later, and the connection
   * is closed with 1008 (reason `slow consumer ...`). API Gateway bounds it too. Default 1 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * How long the gateway waits for a client to answer its close frame before it drops the TCP
   * connection (a client that never reads, such as a cut-off slow consumer). Default 30 s (ws's).
   */
  closeTimeoutMs?: number;
}

export interface LocalGatewayOptions {
  host?: string;
  /** 0 picks a free port. Default 3001. */
  port?: number;
  /** Default `production` (the original demo's stage). */
  stage?: string;
  /** Folder holding `<handler>/index.mjs` bundles. Default: `dist` of `@mpc-relay/handlers`. */
  handlersDir?: string;
  /**
   * Environment of the handlers: layered over process.env for each invocation's async call tree
   * only, so several gateways in one process keep their own values.
   */
  env?: Record<string, string>;
  /** Picks `AUTHORIZER.identitySources[authMode]`. Default `static`. */
  authMode?: string;
  /** Route table. Default: `ROUTES` of `@mpc-relay/handlers/routes`. */
  routes?: readonly GatewayRoute[];
  /** REQUEST authorizer on `$connect`; null for none. Default: `AUTHORIZER` of the route table. */
  authorizer?: GatewayAuthorizer | null;
  limits?: GatewayLimits;
  /** Region used in ARNs and AWS_REGION. Default `us-east-1`. */
  region?: string;
  /**
   * Handlers served by the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`).
   * Default: the route table's `FUNCTIONS` that no route and no authorizer uses (`broadcast`).
   * `[]` switches the Invoke API off.
   */
  functions?: readonly string[];
  /**
   * Serves HTTP requests outside the API's own paths on the same port (the local relay's inspector
   * page): answers true when it took the request, false to let the gateway answer it.
   */
  serveHttp?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * The access key pair the management API and the Lambda Invoke API accept: like IAM on AWS,
   * every request needs a SigV4 signature made with it (service `execute-api` / `lambda`, this
   * region). The handlers get it as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, as Lambda hands a
   * function its role's keys. Default: `env`'s AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when both
   * are set, else a random pair (`gateway.credentials`).
   */
  credentials?: AwsCredentials;
  /** Clock of the signature checks (ms since the epoch); tests move it. Default Date.now. */
  clock?: () => number;
  /**
   * How handlers run. `environments` (default): Lambda's execution model, a pool of worker threads
   * per function, each with its own module instance and process.env, one invocation at a time.
   * `in-process`: every invocation in this thread (handlers that share globalThis with the caller).
   */
  execution?: ExecutionModel;
  /** The execution environments: reserved concurrency, environments per function, idle timeout, memory. */
  environments?: EnvironmentSettings;
}

export const DEFAULT_LIMITS: Required<GatewayLimits> = {
  idleTimeoutMs: 600_000,
  maxLifetimeMs: 7_200_000,
  handlerTimeoutMs: 29_000,
  maxFrameBytes: 32_768,
  maxMessageBytes: 131_072,
  maxBufferedBytes: 1_048_576,
  closeTimeoutMs: 30_000,
};

/** The options with every default applied. */
export interface GatewaySettings {
  host: string;
  port: number;
  stage: string;
  region: string;
  /** The account in ARNs: there is none locally. */
  accountId: string;
  limits: Required<GatewayLimits>;
  routes: readonly GatewayRoute[];
  authorizer: GatewayAuthorizer | null;
  handlersDir: string;
  /** Handlers the Lambda Invoke API runs (directly invoked functions). */
  functions: readonly string[];
  /** The handlers' environment; the gateway adds MANAGEMENT_ENDPOINT once it knows its port. */
  env: Record<string, string>;
  credentials: AwsCredentials;
  clock: () => number;
  execution: ExecutionModel;
  environments: EnvironmentSettings;
}

export async function resolveOptions(options: LocalGatewayOptions): Promise<GatewaySettings> {
  const region = options.region ?? options.env?.AWS_REGION ?? 'us-east-1';
  const fromEnv =
    options.env?.AWS_ACCESS_KEY_ID && options.env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: options.env.AWS_ACCESS_KEY_ID, secretAccessKey: options.env.AWS_SECRET_ACCESS_KEY }
      : undefined;
  const credentials = options.credentials ?? fromEnv ?? generateCredentials();
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 3001,
    stage: options.stage ?? 'production',
    region,
    accountId: '000000000000',
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    ...(await routeTableOf(options)),
    env: {
      AWS_REGION: region,
      ...options.env,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    credentials,
    clock: options.clock ?? Date.now,
    execution: options.execution ?? 'environments',
    environments: options.environments ?? {},
  };
}

/** The given route table, completed from `@mpc-relay/handlers` (imported only when something is missing). */
async function routeTableOf(
  options: LocalGatewayOptions,
): Promise<Pick<GatewaySettings, 'routes' | 'authorizer' | 'handlersDir' | 'functions'>> {
  const { routes, authorizer, handlersDir, functions } = options;
  if (routes && authorizer !== undefined && handlersDir && functions)
    return { routes, authorizer, handlersDir, functions };
  const table = await import('@mpc-relay/handlers/routes');
  const require = createRequire(import.meta.url);
  return {
    routes: routes ?? table.ROUTES,
    functions: functions ?? directlyInvokedFunctions(table),
    handlersDir: handlersDir ?? join(dirname(require.resolve('@mpc-relay/handlers/package.json')), 'dist'),
    authorizer: authorizer !== undefined ? authorizer : tableAuthorizer(table.AUTHORIZER, options.authMode),
  };
}

function tableAuthorizer(
  authorizer: { handler: string; identitySources: Readonly<Record<string, readonly string[]>> },
  authMode = 'static',
): GatewayAuthorizer {
  const sources = authorizer.identitySources[authMode];
  if (!sources) throw new Error(`unknown auth mode "${authMode}"`);
  return { handler: authorizer.handler, identitySources: sources };
}

/** The functions of a route table that neither a route nor the authorizer uses: invoked directly. */
export function directlyInvokedFunctions(table: {
  FUNCTIONS: Readonly<Record<string, unknown>>;
  ROUTES: readonly { handler: string }[];
  AUTHORIZER: { handler: string };
}): string[] {
  const used = new Set([...table.ROUTES.map((r) => r.handler), table.AUTHORIZER.handler]);
  return Object.keys(table.FUNCTIONS).filter((name) => !used.has(name));
}
