/**
 * Handler configuration, from environment variables only: the same bundle runs on AWS and locally.
 * Every variable is declared in `./settings.ts` (type, default, range) and parsed through it.
 * Read on every invocation (a handful of string reads), so tests and the local gateway may change
 * the environment between calls.
 */
import {
  enumSetting,
  integerSetting,
  listSetting,
  onOffSetting,
  settingFor,
  stringSetting,
} from './settings.js';

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

export { ConfigError } from './settings.js';

type Env = Record<string, string | undefined>;

/** Default limits per peer (declared in ./settings.ts). */
export const DEFAULT_LIMITS = {
  inboxMaxMessages: Number(settingFor('INBOX_MAX_MESSAGES').default),
  inboxMaxBytes: Number(settingFor('INBOX_MAX_BYTES').default),
  maxConnectionsPerPeer: Number(settingFor('MAX_CONNECTIONS_PER_PEER').default),
} as const;

export function parseAuthMode(env: Env = process.env): AuthModeName {
  return enumSetting<AuthModeName>(env, 'AUTH_MODE');
}

export function parseOperationTypes(raw: string | undefined): ReadonlySet<string> | undefined {
  const names = listSetting({ ALLOWED_OPERATION_TYPES: raw }, 'ALLOWED_OPERATION_TYPES');
  return names.length === 0 ? undefined : new Set(names);
}

/** Reads and validates the configuration; throws ConfigError naming the variable at fault. */
export function loadConfig(env: Env = process.env): RelayConfig {
  const tableName = stringSetting(env, 'TABLE_NAME') as string;
  const operationTypes = listSetting(env, 'ALLOWED_OPERATION_TYPES');
  return {
    tableName,
    authMode: parseAuthMode(env),
    mappingTtlSeconds: integerSetting(env, 'MAPPING_TTL_SECONDS'),
    inboxTtlSeconds: integerSetting(env, 'INBOX_TTL_SECONDS'),
    connectionTtlSeconds: integerSetting(env, 'CONNECTION_TTL_SECONDS'),
    dedupeTtlSeconds: integerSetting(env, 'DEDUPE_TTL_SECONDS'),
    redeliveryDelaySeconds: integerSetting(env, 'REDELIVERY_DELAY_SECONDS'),
    inboxMaxMessages: integerSetting(env, 'INBOX_MAX_MESSAGES'),
    inboxMaxBytes: integerSetting(env, 'INBOX_MAX_BYTES'),
    maxConnectionsPerPeer: integerSetting(env, 'MAX_CONNECTIONS_PER_PEER'),
    allowedOperationTypes: operationTypes.length === 0 ? undefined : new Set(operationTypes),
    tenantIsolation: onOffSetting(env, 'TENANT_ISOLATION'),
    dynamodbEndpoint: stringSetting(env, 'DYNAMODB_ENDPOINT'),
    managementEndpoint: stringSetting(env, 'MANAGEMENT_ENDPOINT'),
    region: regionSetting(env),
  };
}

/** AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1 (so local runs need not set it). */
export function regionSetting(env: Env = process.env): string {
  // Only the one variable: copying process.env (every variable, each a native call) cost more than
  // the rest of the configuration together, on every invocation.
  return stringSetting({ AWS_REGION: env.AWS_REGION || env.AWS_DEFAULT_REGION }, 'AWS_REGION') as string;
}

/** Epoch seconds, the unit of DynamoDB TTL attributes. */
export function epochSeconds(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000);
}
