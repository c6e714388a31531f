import { isIP } from 'node:net';
import { join } from 'node:path';
import { STACK_SETTINGS } from '@mpc-relay/handlers/settings';
import {
  type AwsCredentials,
  createLocalGateway,
  type LocalGateway,
  type LocalGatewayOptions,
} from '@mpc-relay/local-gateway';
import { CREDENTIALS_FILE, loadOrCreateCredentials } from './credentials.js';
import { UserError } from './errors.js';
import { observeRelay, type RelayObservations } from './inspector/observe.js';
import { createInspector, type Inspector } from './inspector/server.js';
import { INSPECTOR_USER_AGENT } from './inspector/table.js';
import { loadOrCreateJwtSecret } from './jwt-secret.js';
import { attachLogger } from './log.js';
import { type LocalStore, prepareDataDir, startStore } from './store.js';

export interface RelayOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 3001; 0 picks a free port. */
  port?: number;
  /** Default `production` (the original demo's stage). */
  stage?: string;
  /** LevelDB folder of the embedded DynamoDB. Default `./relay-data` (relative to the working directory). */
  dataDir?: string;
  /** `static` (the original demo's `Authorization: Allow`) or `jwt`. Default `static`. */
  authMode?: string;
  /** Default `mpc-relay`. */
  tableName?: string;
  idleTimeoutMs?: number;
  /** Bytes held for a client that does not read before it is cut off (gateway limit; default 1 MiB). */
  maxBufferedBytes?: number;
  /** How long the gateway waits for a client to answer its close frame (gateway limit; default 30 s). */
  closeTimeoutMs?: number;
  maxLifetimeMs?: number;
  handlerTimeoutMs?: number;
  /** Folder of the handler bundles. Default: `@mpc-relay/handlers`'s dist. */
  handlersDir?: string;
  /**
   * Limits per peer (the handlers' INBOX_MAX_MESSAGES, INBOX_MAX_BYTES, MAX_CONNECTIONS_PER_PEER;
   * 0 = no limit). Default: the handlers' defaults (1000 messages, 8 MiB, 10 connections).
   */
  limits?: { inboxMaxMessages?: number; inboxMaxBytes?: number; maxConnectionsPerPeer?: number };
  /** Extra environment for the handlers (wins over the defaults below). */
  env?: Record<string, string>;
  /**
   * How the handlers run (default `environments`: Lambda's model, worker threads per function) and
   * the execution environments' settings (reserved concurrency, environments per function, idle timeout).
   */
  execution?: LocalGatewayOptions['execution'];
  environments?: LocalGatewayOptions['environments'];
  /** Receives one readable line per connect / disconnect / relayed message. Default: none. */
  log?: (line: string) => void;
  /** Serves the live inspector page under `/_inspector/` (loopback, per-start token). Default false. */
  inspector?: boolean;
  /**
   * The access key pair every signed endpoint accepts and the handlers sign with. Default:
   * MPC_RELAY_ACCESS_KEY_ID / MPC_RELAY_SECRET_ACCESS_KEY, else `<dataDir>/credentials`.
   */
  credentials?: AwsCredentials;
  /** Clock of the SigV4 checks (ms since the epoch); tests move it. Default Date.now. */
  clock?: () => number;
  /**
   * Listen on a non-loopback `host` with static auth (`Authorization: Allow`, which checks
   * nothing). Refused unless set: anyone on that network could connect as any peer.
   */
  allowStaticOnNetwork?: boolean;
  /**
   * Runs LevelDB's repair on the store folder before starting and logs what it kept (`--repair`):
   * the way out when the relay refused a damaged folder.
   */
  repair?: boolean;
  /** How often the store compacts itself (reclaims the files of deleted items). Default 5 min; 0 = never. */
  compactEveryMs?: number;
}

export interface Relay {
  url: string;
  managementEndpoint: string;
  /**
   * Lambda Invoke API of the directly invoked functions (`broadcast`, the original demo's sendMessage):
   * `aws lambda invoke --endpoint-url <this> --function-name broadcast ...`.
   */
  lambdaEndpoint: string;
  dataDir: string;
  /** The embedded DynamoDB, behind its SigV4 front (sign with `credentials`, service dynamodb). */
  dynamoEndpoint: string;
  tableName: string;
  /** Region of every signing scope (AWS_REGION, default us-east-1). */
  region: string;
  /** The key pair the management API, the Lambda Invoke API and DynamoDB accept. */
  credentials: AwsCredentials;
  /** Where the pair comes from: the credentials file, the environment, or `options`. */
  credentialsSource: string;
  /** `<dataDir>/credentials` (AWS_SHARED_CREDENTIALS_FILE, profile mpc-relay-local). */
  credentialsFile: string;
  /** The store process (its stats, compaction, supervisor). */
  store: LocalStore;
  /** jwt mode: where the HS256 secret comes from (`<dataDir>/jwt-secret`, MPC_RELAY_JWT_SECRET, ...). */
  jwtSecretSource?: string;
  gateway: LocalGateway;
  /** The relay's outcomes as a structured stream (when `log` or `inspector` is on). */
  observations?: RelayObservations;
  /** The inspector page with its access token (when `inspector` is on). */
  inspectorUrl?: string;
  /** Closes every connection (their `$disconnect` runs), then the store (LevelDB flushed and closed). */
  close(): Promise<void>;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 3001,
  stage: 'production',
  dataDir: 'relay-data',
  authMode: 'static',
  tableName: 'mpc-relay',
  region: 'us-east-1',
} as const;

/** Handler environment: what Lambda gets on AWS plus the local endpoint overrides. */
function handlerEnv(
  options: RelayOptions,
  dynamoEndpoint: string,
  tableName: string,
  credentials: AwsCredentials,
  jwtEnv: Record<string, string> = {},
): Record<string, string> {
  const fromProcess = (name: string, fallback: string) => process.env[name] ?? fallback;
  return {
    // The handler settings a stack key sets on AWS (the handlers' contract): set in the relay's own
    // environment (`INBOX_TTL_SECONDS=60 pnpm start`), they reach the handlers the same way.
    ...tunableSettings(process.env),
    TABLE_NAME: tableName,
    DYNAMODB_ENDPOINT: dynamoEndpoint,
    AUTH_MODE: options.authMode ?? DEFAULTS.authMode,
    AWS_REGION: fromProcess('AWS_REGION', DEFAULTS.region),
    // As Lambda hands a function its role's keys: the pair the relay's endpoints verify.
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    POWERTOOLS_SERVICE_NAME: 'mpc-relay',
    POWERTOOLS_METRICS_NAMESPACE: 'MpcRelay',
    // The handlers' JSON logs and EMF metrics would drown the relay's own lines locally.
    LOG_LEVEL: fromProcess('LOG_LEVEL', 'ERROR'),
    POWERTOOLS_METRICS_DISABLED: fromProcess('POWERTOOLS_METRICS_DISABLED', 'true'),
    ...jwtEnv,
    ...limitEnv(options.limits),
    ...options.env,
  };
}

function limitEnv(limits: RelayOptions['limits']): Record<string, string> {
  const env: Record<string, string> = {};
  if (limits?.inboxMaxMessages !== undefined) env.INBOX_MAX_MESSAGES = String(limits.inboxMaxMessages);
  if (limits?.inboxMaxBytes !== undefined) env.INBOX_MAX_BYTES = String(limits.inboxMaxBytes);
  if (limits?.maxConnectionsPerPeer !== undefined) {
    env.MAX_CONNECTIONS_PER_PEER = String(limits.maxConnectionsPerPeer);
  }
  return env;
}

/** The contract's stack-set settings present in `env`. */
export function tunableSettings(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    STACK_SETTINGS.filter((setting) => env[setting.name] !== undefined && env[setting.name] !== '').map(
      (setting) => [setting.name, env[setting.name] as string],
    ),
  );
}

/** Starts a whole local relay in this process: dynalite + relay table + local gateway + handler bundles. */
export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  // Node 20 is supported here; the SDK's notice about its future Node 22 floor is noise locally.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const tableName = options.tableName ?? DEFAULTS.tableName;
  const region = process.env.AWS_REGION ?? DEFAULTS.region;
  const host = options.host ?? DEFAULTS.host;
  const port = options.port ?? DEFAULTS.port;
  if (
    (options.authMode ?? DEFAULTS.authMode) === 'static' &&
    !isLoopback(host) &&
    !options.allowStaticOnNetwork
  ) {
    throw new UserError(
      `refusing --host ${host} with static auth: "Authorization: Allow" checks nothing, so anyone who can reach ${host} could connect as any cli or mpc. Use --auth jwt, keep the default host 127.0.0.1, or pass --allow-static-on-network if only trusted machines can reach it`,
    );
  }
  const dataDir = prepareDataDir(options.dataDir ?? DEFAULTS.dataDir);
  const loaded = options.credentials
    ? {
        credentials: options.credentials,
        source: 'options.credentials',
        file: join(dataDir, CREDENTIALS_FILE),
      }
    : loadOrCreateCredentials(dataDir);
  const { credentials } = loaded;
  const log = options.log;
  const store = await startStore(dataDir, tableName, region, {
    credentials,
    ...(options.clock ? { now: options.clock } : {}),
    ...(log
      ? {
          onRefused: (r: { code: string; accessKeyId?: string; operation?: string }) =>
            log(
              `${new Date().toISOString().slice(11, 23)} ${'dynamodb'.padEnd(11)} ${r.operation ?? '-'} refused ${r.code}${r.accessKeyId ? ` (key ${r.accessKeyId})` : ''}`,
            ),
        }
      : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.repair ? { repair: true } : {}),
    ...(options.compactEveryMs !== undefined ? { compactEveryMs: options.compactEveryMs } : {}),
  });
  // jwt mode: the HS256 secret `pnpm run token` signs with (data folder or MPC_RELAY_JWT_SECRET), unless
  // a key source is configured explicitly (JWT_SECRET, JWT_SECRET_PARAMETER, JWT_JWKS_URL).
  const jwtEnv: Record<string, string> = {};
  let jwtSecretSource: string | undefined;
  if ((options.authMode ?? DEFAULTS.authMode) === 'jwt') {
    const explicit = ['JWT_SECRET', 'JWT_SECRET_PARAMETER', 'JWT_JWKS_URL'].find(
      (name) => options.env?.[name] || process.env[name],
    );
    if (explicit) jwtSecretSource = explicit;
    else {
      try {
        const { secret, source } = loadOrCreateJwtSecret(store.dataDir);
        jwtEnv.JWT_SECRET = secret;
        jwtSecretSource = source;
      } catch (error) {
        await store.close();
        throw error;
      }
    }
  }
  let gateway: LocalGateway;
  let inspector: Inspector | undefined;
  const env = handlerEnv(options, store.endpoint, tableName, credentials, jwtEnv);
  try {
    gateway = await createLocalGateway({
      host,
      port,
      stage: options.stage ?? DEFAULTS.stage,
      authMode: options.authMode ?? DEFAULTS.authMode,
      region,
      credentials,
      ...(options.clock ? { clock: options.clock } : {}),
      env,
      serveHttp: (req, res) => inspector?.serve(req, res) ?? false,
      ...(options.handlersDir ? { handlersDir: options.handlersDir } : {}),
      ...(options.execution ? { execution: options.execution } : {}),
      ...(options.environments ? { environments: options.environments } : {}),
      limits: {
        ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
        ...(options.maxLifetimeMs !== undefined ? { maxLifetimeMs: options.maxLifetimeMs } : {}),
        ...(options.handlerTimeoutMs !== undefined ? { handlerTimeoutMs: options.handlerTimeoutMs } : {}),
        ...(options.maxBufferedBytes !== undefined ? { maxBufferedBytes: options.maxBufferedBytes } : {}),
        ...(options.closeTimeoutMs !== undefined ? { closeTimeoutMs: options.closeTimeoutMs } : {}),
      },
    });
  } catch (error) {
    await store.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new UserError(`port ${port} on ${host} is already in use; pick another with --port or PORT`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new UserError(`cannot listen on host ${host} (${code}); check --host or HOST`);
    if (code === 'EACCES')
      throw new UserError(`no permission to listen on port ${port}; pick another with --port or PORT`);
    if (error instanceof Error && /unknown auth mode/.test(error.message))
      throw new UserError(`${error.message}; use --auth static or --auth jwt`);
    throw error;
  }
  const observations = options.log || options.inspector ? observeRelay(gateway) : undefined;
  if (observations) {
    store.onRequest((operation, userAgent) => {
      // The inspector's own reads are not the relay's cost.
      if (!userAgent.includes(INSPECTOR_USER_AGENT)) observations.storeRequest(operation);
    });
  }
  if (observations && options.log) attachLogger(observations, options.log);
  if (observations && options.inspector) {
    inspector = createInspector({
      gateway,
      observations,
      authMode: options.authMode ?? DEFAULTS.authMode,
      table: {
        endpoint: store.endpoint,
        tableName,
        region,
        credentials: {
          accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'local',
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'local',
        },
      },
    });
  }
  let closed: Promise<void> | undefined;
  return {
    url: gateway.url,
    managementEndpoint: `${gateway.managementEndpoint}/@connections`,
    lambdaEndpoint: gateway.lambdaEndpoint,
    dataDir: store.dataDir,
    dynamoEndpoint: store.endpoint,
    tableName,
    region,
    credentials,
    credentialsSource: loaded.source,
    credentialsFile: loaded.file,
    store,
    ...(jwtSecretSource ? { jwtSecretSource } : {}),
    gateway,
    ...(observations ? { observations } : {}),
    ...(inspector ? { inspectorUrl: inspector.url } : {}),
    close() {
      closed ??= (async () => {
        inspector?.close();
        await gateway.close();
        observations?.detach();
        await store.close();
      })();
      return closed;
    },
  };
}

/** 127.0.0.0/8, ::1 and `localhost`: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare);
  return false;
}
