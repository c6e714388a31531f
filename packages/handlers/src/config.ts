/**
 * Handler configuration, from environment variables only: the same bundle runs on AWS and locally.
 * Read on every invocation (a handful of string reads), so tests and the local gateway may change
 * the environment between calls.
 */

export type AuthModeName = 'static' | 'jwt';

export interface RelayConfig {
  /** TABLE_NAME (required for every handler that touches DynamoDB). */
  tableName: string;
  /** AUTH_MODE: `static` (the original demo's `Authorization: Allow`) or `jwt`. */
  authMode: AuthModeName;
  /** MAPPING_TTL_SECONDS: how long a cli may answer the mpc that contacted it (default 3600). */
  mappingTtlSeconds: number;
  /** INBOX_TTL_SECONDS: how long a message waits for an offline peer (default 300). */
  inboxTtlSeconds: number;
  /** CONNECTION_TTL_SECONDS: expiry of a connection record (default 7200, API Gateway's max lifetime). */
  connectionTtlSeconds: number;
  /**
   * DEDUPE_TTL_SECONDS (protocol v2): how long, after it was delivered to a v1 connection or
   * acknowledged by a v2 one, a message's `clientMsgId` still suppresses duplicates (default 3600).
   * While the message waits (up to INBOX_TTL_SECONDS) duplicates are suppressed too.
   */
  dedupeTtlSeconds: number;
  /**
   * REDELIVERY_DELAY_SECONDS (protocol v2): a message delivered to a v2 connection less than this
   * long ago and not acknowledged is not resent on that peer's next ping / sendServer (default 30;
   * 0 resends on every frame). A reconnect (`getConnectionId`) resends every unacknowledged one.
   */
  redeliveryDelaySeconds: number;
  /**
   * INBOX_MAX_MESSAGES / INBOX_MAX_BYTES: most messages (default 1000) and bytes (default 8 MiB)
   * kept waiting for one receiving peer while it is offline; over either, the sender gets INBOX_FULL
   * and nothing is stored. 0: no limit.
   */
  inboxMaxMessages: number;
  inboxMaxBytes: number;
  /**
   * MAX_CONNECTIONS_PER_PEER: most live connections one peer id may hold (default 10); the
   * handshake over it is refused (429). 0: no limit.
   */
  maxConnectionsPerPeer: number;
  /** ALLOWED_OPERATION_TYPES: comma list; undefined means any operation type. */
  allowedOperationTypes: ReadonlySet<string> | undefined;
  /** TENANT_ISOLATION: `on` restricts traffic to peers sharing a team (parsed, not enforced yet). */
  tenantIsolation: boolean;
  /** DYNAMODB_ENDPOINT: local DynamoDB (dynalite) instead of the regional endpoint. */
  dynamodbEndpoint: string | undefined;
  /** MANAGEMENT_ENDPOINT: local management API instead of https://{domainName}/{stage}. */
  managementEndpoint: string | undefined;
  /** AWS_REGION (default us-east-1 so local runs need not set it). */
  region: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function positiveInt(env: Env, key: string, fallback: number): number {
  const raw = env[key]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${key} must be a positive integer number of seconds, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function nonNegativeInt(env: Env, key: string, fallback: number): number {
  const raw = env[key]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(
      `${key} must be a non-negative integer number of seconds, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

function limit(env: Env, key: string, fallback: number): number {
  const raw = env[key]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(`${key} must be a non-negative integer (0: no limit), got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Default limits per peer (documented in the handlers README). */
export const DEFAULT_LIMITS = {
  inboxMaxMessages: 1000,
  inboxMaxBytes: 8 * 1024 * 1024,
  maxConnectionsPerPeer: 10,
} as const;

function optional(env: Env, key: string): string | undefined {
  const value = env[key]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function parseAuthMode(env: Env = process.env): AuthModeName {
  const mode = optional(env, 'AUTH_MODE') ?? 'static';
  if (mode !== 'static' && mode !== 'jwt') {
    throw new ConfigError(`AUTH_MODE must be "static" or "jwt", got ${JSON.stringify(mode)}`);
  }
  return mode;
}

export function parseOperationTypes(raw: string | undefined): ReadonlySet<string> | undefined {
  const names = (raw ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  return names.length === 0 ? undefined : new Set(names);
}

/** Reads and validates the configuration; throws ConfigError naming the variable at fault. */
export function loadConfig(env: Env = process.env): RelayConfig {
  const tableName = optional(env, 'TABLE_NAME');
  if (tableName === undefined) throw new ConfigError('TABLE_NAME is required');
  const isolation = optional(env, 'TENANT_ISOLATION') ?? 'off';
  if (isolation !== 'on' && isolation !== 'off') {
    throw new ConfigError(`TENANT_ISOLATION must be "on" or "off", got ${JSON.stringify(isolation)}`);
  }
  return {
    tableName,
    authMode: parseAuthMode(env),
    mappingTtlSeconds: positiveInt(env, 'MAPPING_TTL_SECONDS', 3600),
    inboxTtlSeconds: positiveInt(env, 'INBOX_TTL_SECONDS', 300),
    connectionTtlSeconds: positiveInt(env, 'CONNECTION_TTL_SECONDS', 7200),
    dedupeTtlSeconds: positiveInt(env, 'DEDUPE_TTL_SECONDS', 3600),
    redeliveryDelaySeconds: nonNegativeInt(env, 'REDELIVERY_DELAY_SECONDS', 30),
    inboxMaxMessages: limit(env, 'INBOX_MAX_MESSAGES', DEFAULT_LIMITS.inboxMaxMessages),
    inboxMaxBytes: limit(env, 'INBOX_MAX_BYTES', DEFAULT_LIMITS.inboxMaxBytes),
    maxConnectionsPerPeer: limit(env, 'MAX_CONNECTIONS_PER_PEER', DEFAULT_LIMITS.maxConnectionsPerPeer),
    allowedOperationTypes: parseOperationTypes(env.ALLOWED_OPERATION_TYPES),
    tenantIsolation: isolation === 'on',
    dynamodbEndpoint: optional(env, 'DYNAMODB_ENDPOINT'),
    managementEndpoint: optional(env, 'MANAGEMENT_ENDPOINT'),
    region: optional(env, 'AWS_REGION') ?? optional(env, 'AWS_DEFAULT_REGION') ?? 'us-east-1',
  };
}

/** Epoch seconds, the unit of DynamoDB TTL attributes. */
export function epochSeconds(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000);
}
