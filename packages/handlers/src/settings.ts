/**
 * The handlers' configuration contract: every environment variable a handler reads, declared once
 * (name, type, default, meaning, which handlers read it, who sets it). The handlers parse through
 * the readers below (an undeclared name throws), the Pulumi program derives each function's
 * environment and its `mpc-relay:*` stack keys from `deploy`, the local relay derives its handler
 * environment from it, and the README's table is generated from it. No SDK imports: infra and
 * apps load it (`@mpc-relay/handlers/settings`).
 */
import type { HandlerName } from './routes.js';

export type SettingType = 'string' | 'integer' | 'on-off' | 'list' | 'enum' | 'url' | 'secret';

/**
 * Who sets a variable on AWS:
 * - `stack`: the Pulumi program, from the stack key `mpc-relay:<key>` (derived from this entry:
 *   type, range, default), on the functions listed in `handlers`; `authMode: 'jwt'` only then;
 * - `program`: the Pulumi program, from its resources or other keys (table name, endpoint, auth);
 * - `lambda`: the Lambda runtime; `library`: read by Powertools itself;
 * - `local`: local mode and tests only, never set on AWS.
 */
export type SettingDeploy =
  | { by: 'stack'; key: string; authMode?: 'jwt' }
  | { by: 'program' }
  | { by: 'lambda' }
  | { by: 'library' }
  | { by: 'local' };

export interface SettingDefinition {
  name: string;
  type: SettingType;
  /** The value used when unset, in its environment form; absent: none (or `required`). */
  default?: string;
  /** How the README shows the default when it is not a plain value. */
  defaultText?: string;
  required?: boolean;
  min?: number;
  max?: number;
  /** `enum` values. */
  values?: readonly string[];
  meaning: string;
  handlers: readonly HandlerName[];
  deploy: SettingDeploy;
}

const ALL: readonly HandlerName[] = [
  'authorizer',
  'connect',
  'disconnect',
  'getConnectionId',
  'sendServer',
  'ack',
  'ping',
  'default',
  'broadcast',
];
/** The handlers that load the relay configuration (`loadConfig`): every one that touches the table. */
const RELAY: readonly HandlerName[] = [
  'connect',
  'disconnect',
  'getConnectionId',
  'sendServer',
  'ack',
  'ping',
  'broadcast',
];
const AUTHORIZER: readonly HandlerName[] = ['authorizer'];
const POSTING: readonly HandlerName[] = ALL.filter((handler) => handler !== 'authorizer');

const DAY = 86_400;
const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;

/** A whole number of the relay handlers set by a stack key (`mpc-relay:<key>`): the limits and lifetimes. */
function stackInteger<const Name extends string, const Key extends string>(
  name: Name,
  key: Key,
  range: { default: string; min: number; max: number },
  meaning: string,
) {
  return { name, type: 'integer', ...range, meaning, handlers: RELAY, deploy: { by: 'stack', key } } as const;
}

/** The same for the authorizer, set only when the stack's auth mode is `jwt`. */
function jwtStackInteger<const Name extends string, const Key extends string>(
  name: Name,
  key: Key,
  range: { default: string; min: number; max: number },
  meaning: string,
) {
  return {
    ...stackInteger(name, key, range, meaning),
    handlers: AUTHORIZER,
    deploy: { by: 'stack', key, authMode: 'jwt' },
  } as const;
}

/** A jwt option of the authorizer, set by the Pulumi program from the stack's auth configuration. */
function jwtOption<const Name extends string, const Type extends SettingType>(
  name: Name,
  type: Type,
  meaning: string,
  shown: { defaultText?: string } = {},
) {
  return { name, type, ...shown, meaning, handlers: AUTHORIZER, deploy: { by: 'program' } } as const;
}

export const SETTINGS = [
  {
    name: 'TABLE_NAME',
    type: 'string',
    required: true,
    meaning: 'the relay table',
    handlers: RELAY,
    deploy: { by: 'program' },
  },
  {
    name: 'AUTH_MODE',
    type: 'enum',
    values: ['static', 'jwt'],
    default: 'static',
    meaning: '`static` (v1 `Authorization: Allow`) or `jwt` (signed tokens, see Auth)',
    handlers: ['authorizer', ...RELAY],
    deploy: { by: 'program' },
  },
  stackInteger(
    'MAPPING_TTL_SECONDS',
    'mappingTtlSeconds',
    { default: '3600', min: 1, max: 365 * DAY },
    "how long a conversation (and the latest mapping) lives after its mpc's last message",
  ),
  stackInteger(
    'INBOX_TTL_SECONDS',
    'inboxTtlSeconds',
    { default: '300', min: 1, max: 365 * DAY },
    'how long a message waits for an offline peer',
  ),
  stackInteger(
    'CONNECTION_TTL_SECONDS',
    'connectionTtlSeconds',
    { default: '7200', min: 1, max: 7200 },
    "expiry of connection records (API Gateway's maximum connection lifetime)",
  ),
  stackInteger(
    'DEDUPE_TTL_SECONDS',
    'dedupeTtlSeconds',
    { default: '3600', min: 1, max: 365 * DAY },
    'v2: how long a delivered or acknowledged message still suppresses duplicates of its `clientMsgId`',
  ),
  stackInteger(
    'REDELIVERY_DELAY_SECONDS',
    'redeliveryDelaySeconds',
    { default: '30', min: 0, max: DAY },
    'v2: an unacknowledged message is not resent on ping / send within this of its last delivery (0: every frame)',
  ),
  stackInteger(
    'INBOX_MAX_MESSAGES',
    'inboxMaxMessages',
    { default: '1000', min: 0, max: 1_000_000 },
    'most messages kept waiting for one offline peer; over it the sender gets INBOX_FULL and nothing is stored (0: no limit)',
  ),
  stackInteger(
    'INBOX_MAX_BYTES',
    'inboxMaxBytes',
    { default: String(8 * 1024 * 1024), min: 0, max: 1024 * 1024 * 1024 },
    'most bytes kept waiting for one offline peer (INBOX_FULL over it; 0: no limit)',
  ),
  stackInteger(
    'MAX_CONNECTIONS_PER_PEER',
    'maxConnectionsPerPeer',
    { default: '10', min: 0, max: 10_000 },
    'most live connections one peer id may hold; the handshake over it is refused with 429 (0: no limit)',
  ),
  {
    name: 'ALLOWED_OPERATION_TYPES',
    type: 'list',
    default: '',
    defaultText: '(any)',
    meaning: 'comma list of the operation types the relay accepts',
    handlers: RELAY,
    deploy: { by: 'stack', key: 'allowedOperationTypes' },
  },
  {
    name: 'TENANT_ISOLATION',
    type: 'on-off',
    default: 'off',
    meaning: '`on`: messages only between peers sharing a team (needs jwt tokens with a `teams` claim)',
    handlers: RELAY,
    deploy: { by: 'stack', key: 'tenantIsolation' },
  },
  {
    name: 'MANAGEMENT_ENDPOINT',
    type: 'url',
    defaultText: '`https://{domainName}/{stage}` of the event',
    meaning:
      'the @connections management API, e.g. `https://API.execute-api.REGION.amazonaws.com/STAGE`, locally `http://127.0.0.1:PORT/STAGE`',
    handlers: POSTING,
    deploy: { by: 'program' },
  },
  jwtOption(
    'JWT_SECRET_PARAMETER',
    'string',
    'jwt: name of the SSM SecureString holding the HS* secret (re-read after `JWT_SECRET_MAX_AGE_SECONDS`)',
  ),
  jwtStackInteger(
    'JWT_SECRET_MAX_AGE_SECONDS',
    'jwtSecretMaxAgeSeconds',
    { default: '300', min: 0, max: DAY },
    'jwt: how long the SSM secret is cached before it is read again, so a rotated secret applies without a cold start (0: every handshake)',
  ),
  {
    name: 'JWT_SECRET',
    type: 'secret',
    meaning: 'jwt, local only: the HS* secret itself (at least 32 bytes; not with `JWT_SECRET_PARAMETER`)',
    handlers: AUTHORIZER,
    deploy: { by: 'local' },
  },
  {
    name: 'SSM_ENDPOINT',
    type: 'url',
    defaultText: '(AWS)',
    meaning: 'jwt: SSM endpoint override (a local stand-in)',
    handlers: AUTHORIZER,
    deploy: { by: 'local' },
  },
  jwtOption('JWT_JWKS_URL', 'url', 'jwt: JWKS URL for RS*/PS*/ES*/EdDSA tokens'),
  jwtOption('JWT_ALGORITHMS', 'list', 'jwt: the accepted algorithms (`none` never)', {
    defaultText: 'HS256 (secret), RS256,ES256,EdDSA (JWKS), both when both',
  }),
  jwtOption('JWT_AUDIENCE', 'string', 'jwt: required `aud` claim when set'),
  jwtOption('JWT_ISSUER', 'string', 'jwt: required `iss` claim when set'),
  jwtStackInteger(
    'JWT_CLOCK_SKEW_SECONDS',
    'jwtClockSkewSeconds',
    { default: '30', min: 0, max: 300 },
    'jwt: tolerance on `exp` / `nbf`',
  ),
  jwtStackInteger(
    'JWT_JWKS_COOLDOWN_SECONDS',
    'jwtJwksCooldownSeconds',
    { default: '30', min: 0, max: 3600 },
    'jwt: at most one JWKS refetch (a token naming an unknown `kid`) per this period',
  ),
  {
    name: 'DYNAMODB_ENDPOINT',
    type: 'url',
    defaultText: '(AWS)',
    meaning: 'local DynamoDB (dynalite) instead of the regional endpoint',
    handlers: RELAY,
    deploy: { by: 'local' },
  },
  {
    name: 'AWS_REGION',
    type: 'string',
    default: 'us-east-1',
    meaning: 'the region of the table and the management API (set by Lambda)',
    handlers: ALL,
    deploy: { by: 'lambda' },
  },
  {
    name: 'AWS_DEFAULT_REGION',
    type: 'string',
    meaning: 'read when `AWS_REGION` is unset',
    handlers: ALL,
    deploy: { by: 'lambda' },
  },
  {
    name: 'LOG_LEVEL',
    type: 'enum',
    values: LOG_LEVELS,
    default: 'INFO',
    meaning: 'handler log level (Powertools; `SILENT` in tests)',
    handlers: ALL,
    deploy: { by: 'program' },
  },
  {
    name: 'POWERTOOLS_LOG_LEVEL',
    type: 'enum',
    values: LOG_LEVELS,
    defaultText: '`LOG_LEVEL`',
    meaning: 'Powertools log level, wins over `LOG_LEVEL`',
    handlers: ALL,
    deploy: { by: 'library' },
  },
  {
    name: 'POWERTOOLS_SERVICE_NAME',
    type: 'string',
    default: 'mpc-relay',
    meaning: 'the `service` of every log line and metric',
    handlers: ALL,
    deploy: { by: 'program' },
  },
  {
    name: 'POWERTOOLS_METRICS_NAMESPACE',
    type: 'string',
    default: 'MpcRelay',
    meaning: 'EMF metrics namespace',
    handlers: POSTING,
    deploy: { by: 'program' },
  },
  {
    name: 'POWERTOOLS_METRICS_DISABLED',
    type: 'string',
    defaultText: 'on AWS: false; **true when `DYNAMODB_ENDPOINT` is set** (local) unless set explicitly',
    meaning: 'no EMF metric lines',
    handlers: POSTING,
    deploy: { by: 'local' },
  },
] as const satisfies readonly SettingDefinition[];

export type SettingName = (typeof SETTINGS)[number]['name'];

/** The settings a stack key sets, with their key. */
export type StackSetting = Extract<(typeof SETTINGS)[number], { deploy: { by: 'stack' } }>;
export type StackSettingKey = StackSetting['deploy']['key'];

/** The value a stack key holds: integer -> number, on-off -> boolean, list -> string[]. */
export type SettingValue<S> = S extends { type: 'integer' }
  ? number
  : S extends { type: 'on-off' }
    ? boolean
    : S extends { type: 'list' }
      ? string[]
      : string;

/** Every stack-set handler setting by its stack key (`mappingTtlSeconds: number`, ...). */
export type StackSettingValues = { [S in StackSetting as S['deploy']['key']]: SettingValue<S> };

/** A stack key's value in its environment form (`on`/`off`, comma list, decimal). */
export function settingEnvValue(value: number | boolean | readonly string[] | string): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

/** A stack key's default (from the declared environment default). */
export function stackSettingDefault(setting: SettingDefinition): number | boolean | string[] | string {
  const raw = setting.default ?? '';
  if (setting.type === 'integer') return Number(raw);
  if (setting.type === 'on-off') return raw === 'on';
  if (setting.type === 'list') return raw.split(',').filter((item) => item !== '');
  return raw;
}

export const STACK_SETTINGS: readonly (SettingDefinition & {
  deploy: { by: 'stack'; key: string; authMode?: 'jwt' };
})[] = SETTINGS.filter((setting): setting is StackSetting => setting.deploy.by === 'stack');

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const BY_NAME = new Map<string, SettingDefinition>(SETTINGS.map((setting) => [setting.name, setting]));

export function settingFor(name: string): SettingDefinition {
  const setting = BY_NAME.get(name);
  if (setting === undefined) throw new ConfigError(`${name} is not a declared setting (src/settings.ts)`);
  return setting;
}

/** The raw value (trimmed; empty counts as unset), or the declared default. */
export function settingText(env: Env, name: SettingName): string | undefined {
  const setting = settingFor(name);
  const raw = setting.type === 'secret' ? env[name] : env[name]?.trim();
  if (raw !== undefined && raw !== '') return raw;
  if (setting.required) throw new ConfigError(`${name} is required`);
  return setting.default;
}

export function integerSetting(env: Env, name: SettingName): number {
  const setting = settingFor(name);
  const raw = settingText(env, name) ?? '';
  const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  const min = setting.min ?? Number.MIN_SAFE_INTEGER;
  const max = setting.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `${name} must be a whole number of seconds from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

export function onOffSetting(env: Env, name: SettingName): boolean {
  const raw = settingText(env, name);
  if (raw !== 'on' && raw !== 'off')
    throw new ConfigError(`${name} must be "on" or "off", got ${JSON.stringify(raw)}`);
  return raw === 'on';
}

export function enumSetting<T extends string>(env: Env, name: SettingName): T {
  const setting = settingFor(name);
  const raw = settingText(env, name);
  if (raw === undefined || !(setting.values ?? []).includes(raw)) {
    throw new ConfigError(
      `${name} must be ${(setting.values ?? []).map((v) => JSON.stringify(v)).join(' or ')}, got ${JSON.stringify(raw)}`,
    );
  }
  return raw as T;
}

export function listSetting(env: Env, name: SettingName): string[] {
  return (settingText(env, name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A string, URL or secret setting (undefined when unset and without default). */
export function stringSetting(env: Env, name: SettingName): string | undefined {
  return settingText(env, name);
}

/** Every setting a handler reads, by name. */
export function settingsOf(handler: HandlerName): readonly SettingDefinition[] {
  return SETTINGS.filter((setting) => (setting.handlers as readonly string[]).includes(handler));
}

const WHO: Record<SettingDeploy['by'], string> = {
  stack: 'stack key',
  program: 'Pulumi program',
  lambda: 'Lambda',
  library: 'Powertools',
  local: 'local only',
};

/** The README table (packages/handlers/README.md, "Environment variables"), generated. */
export function settingsTable(): string {
  const rows = SETTINGS.map((setting: SettingDefinition) => {
    const fallback = setting.required
      ? '(required)'
      : (setting.defaultText ??
        (setting.default !== undefined && setting.default !== '' ? `\`${setting.default}\`` : '-'));
    const range =
      setting.type === 'integer'
        ? ` ${setting.min}..${setting.max}`
        : setting.type === 'enum'
          ? ` ${setting.values?.join(' \\| ')}`
          : '';
    const deploy = setting.deploy;
    const who = deploy.by === 'stack' ? `\`mpc-relay:${deploy.key}\`` : WHO[deploy.by];
    const handlers = setting.handlers.length === ALL.length ? 'all' : setting.handlers.join(', ');
    return `| \`${setting.name}\` | ${setting.type}${range} | ${fallback} | ${setting.meaning} | ${handlers} | ${who} |`;
  });
  return [
    '| variable | type | default | meaning | read by | set on AWS by |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
