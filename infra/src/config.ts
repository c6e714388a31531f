/**
 * Typed, validated stack configuration of the relay. Every key lives in the `mpc-relay:` namespace
 * (`pulumi config set mpc-relay:authMode jwt`). All problems are reported at once, each naming its
 * key, before a single resource is declared.
 */
import {
  defaultJwtAlgorithms,
  isHmacAlgorithm,
  isJwtAlgorithm,
  JWT_ALGORITHMS,
} from '@mpc-relay/handlers/jwt-algorithms';
import {
  type SettingDefinition,
  STACK_SETTINGS,
  type StackSettingValues,
  stackSettingDefault,
} from '@mpc-relay/handlers/settings';
import * as pulumi from '@pulumi/pulumi';
import type {
  AlarmThresholds,
  ApiGatewayCloudWatchRole,
  Architecture,
  AuthMode,
  LogLevel,
  RelayArgs,
} from './args.js';

export type { AlarmThresholds, ApiGatewayCloudWatchRole, Architecture, AuthMode, LogLevel };

export const CONFIG_NAMESPACE = 'mpc-relay';

/** Retention values CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** JWS algorithms the authorizer may accept (`none` never): the handlers' own list. */
export { JWT_ALGORITHMS };

export interface JwtConfig {
  /** HS* shared secret, a Pulumi secret: stored in SSM as a SecureString, never in the function. */
  secret?: pulumi.Output<string>;
  jwksUrl?: string;
  audience?: string;
  issuer?: string;
  algorithms: string[];
}

/**
 * The handler settings set by stack keys, derived from the handlers' contract
 * (`@mpc-relay/handlers/settings`): `mappingTtlSeconds`, `dedupeTtlSeconds`, ... The jwt-only ones
 * are absent unless authMode is `jwt`.
 */
export type HandlerSettings = Partial<StackSettingValues>;

export interface RelayConfig extends HandlerSettings {
  stack: string;
  production: boolean;
  authMode: AuthMode;
  allowStaticAuthInProduction: boolean;
  /** Present when authMode is `jwt`. */
  jwt?: JwtConfig;
  stageName: string;
  logLevel: LogLevel;
  architecture: Architecture;
  memoryMb: number;
  timeoutSeconds: number;
  logRetentionDays: number;
  throttleBurstLimit: number;
  throttleRateLimit: number;
  detailedMetrics: boolean;
  pointInTimeRecovery: boolean;
  deletionProtection: boolean;
  alarms: boolean;
  alarmEmail?: string;
  domainName?: string;
  certificateArn?: string;
  hostedZoneId?: string;
  /** Stage access logs; on only when the region's API Gateway CloudWatch role is known to exist. */
  accessLogs: boolean;
  /**
   * `managed`: this stack sets the region's API Gateway CloudWatch role (kept on destroy);
   * `existing`: the account already has one (`aws apigateway get-account`); absent: neither.
   */
  apiGatewayCloudWatchRole?: ApiGatewayCloudWatchRole;
  alarmThresholds: AlarmThresholds;
}

/** One documented configuration key. The README's reference table mirrors this list. */
export interface ConfigKeyDoc {
  key: string;
  type: string;
  default: string;
  meaning: string;
}

/** The documentation row of a stack key the handlers' contract declares. */
function settingKeyDoc(
  setting: SettingDefinition & { deploy: { by: 'stack'; key: string; authMode?: 'jwt' } },
): ConfigKeyDoc {
  const fallback = stackSettingDefault(setting);
  const type =
    setting.type === 'integer'
      ? `integer ${setting.min}..${setting.max}`
      : setting.type === 'on-off'
        ? 'boolean'
        : setting.type === 'list'
          ? 'comma list'
          : 'string';
  const shown = Array.isArray(fallback)
    ? fallback.length === 0
      ? 'empty (any)'
      : fallback.join(',')
    : String(fallback);
  return {
    key: setting.deploy.key,
    type,
    default: shown,
    meaning: `${setting.meaning} (\`${setting.name}\`)`,
  };
}

/** The stack keys of handler settings, generated from the handlers' contract. */
export const SETTING_KEYS: readonly ConfigKeyDoc[] = STACK_SETTINGS.map(settingKeyDoc);

/** infra/README.md's table of the handler-setting keys, generated (tests/config.test.ts compares). */
export function settingKeysTable(): string {
  return [
    '| key | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...SETTING_KEYS.map(
      (doc) => `| \`${CONFIG_NAMESPACE}:${doc.key}\` | ${doc.type} | ${doc.default} | ${doc.meaning} |`,
    ),
  ].join('\n');
}

export const CONFIG_KEYS: readonly ConfigKeyDoc[] = [
  ...SETTING_KEYS,
  {
    key: 'production',
    type: 'boolean',
    default: 'false',
    meaning: 'Marks a production stack; drives the defaults below and forbids `static` auth',
  },
  {
    key: 'authMode',
    type: '`static` \\| `jwt`',
    default: '`static`',
    meaning: 'Authorizer mode (`AUTH_MODE`)',
  },
  {
    key: 'allowStaticAuthInProduction',
    type: 'boolean',
    default: 'false',
    meaning: 'Explicit override to run `static` auth on a production stack',
  },
  {
    key: 'jwtSecret',
    type: 'secret string',
    default: '-',
    meaning: 'HS* signing secret; stored as an SSM SecureString, the authorizer gets only its name',
  },
  {
    key: 'jwtJwksUrl',
    type: 'https URL',
    default: '-',
    meaning: 'JWKS URL for RS*/PS*/ES*/EdDSA tokens (`JWT_JWKS_URL`)',
  },
  { key: 'jwtAudience', type: 'string', default: '-', meaning: 'Required `aud` claim (`JWT_AUDIENCE`)' },
  { key: 'jwtIssuer', type: 'string', default: '-', meaning: 'Required `iss` claim (`JWT_ISSUER`)' },
  {
    key: 'jwtAlgorithms',
    type: 'comma list',
    default: '`HS256` with a secret, else `RS256,ES256,EdDSA`',
    meaning: 'Accepted JWS algorithms (`JWT_ALGORITHMS`)',
  },
  {
    key: 'stageName',
    type: 'string',
    default: '`production`',
    meaning: 'API Gateway stage name (part of the URL)',
  },
  {
    key: 'logLevel',
    type: '`DEBUG` \\| `INFO` \\| `WARN` \\| `ERROR`',
    default: '`INFO`',
    meaning: 'Handler log level',
  },
  {
    key: 'lambdaArchitecture',
    type: '`arm64` \\| `x86_64`',
    default: '`arm64`',
    meaning: 'Lambda architecture',
  },
  { key: 'lambdaMemoryMb', type: 'integer 128..10240', default: '256', meaning: 'Lambda memory' },
  {
    key: 'lambdaTimeoutSeconds',
    type: 'integer 1..29',
    default: '10',
    meaning: 'Lambda timeout (API Gateway stops waiting at 29 s)',
  },
  {
    key: 'logRetentionDays',
    type: 'CloudWatch retention value',
    default: '14 (90 when production)',
    meaning: 'Retention of function and access log groups',
  },
  {
    key: 'throttleBurstLimit',
    type: 'integer 1..5000',
    default: '500',
    meaning: 'Stage default route burst limit',
  },
  {
    key: 'throttleRateLimit',
    type: 'number > 0',
    default: '1000',
    meaning: 'Stage default route steady rate (requests/s)',
  },
  {
    key: 'detailedMetrics',
    type: 'boolean',
    default: '= production',
    meaning: 'Per-route CloudWatch metrics',
  },
  {
    key: 'pointInTimeRecovery',
    type: 'boolean',
    default: '= production',
    meaning: 'DynamoDB point-in-time recovery',
  },
  {
    key: 'deletionProtection',
    type: 'boolean',
    default: '= production',
    meaning: 'DynamoDB deletion protection',
  },
  { key: 'alarms', type: 'boolean', default: '= production', meaning: 'CloudWatch alarms to an SNS topic' },
  { key: 'alarmEmail', type: 'email', default: '-', meaning: 'Subscribes this address to the alarm topic' },
  { key: 'domainName', type: 'hostname', default: '-', meaning: 'Custom domain (needs `certificateArn`)' },
  {
    key: 'certificateArn',
    type: 'ACM ARN',
    default: '-',
    meaning: 'Regional ACM certificate for `domainName`',
  },
  {
    key: 'hostedZoneId',
    type: 'string',
    default: '-',
    meaning: 'Route 53 zone: creates the alias record for `domainName`',
  },
  {
    key: 'accessLogs',
    type: 'boolean',
    default: '= production',
    meaning:
      'Stage access logs (JSON, no query strings or bodies); needs `apiGatewayCloudWatchRole`, AWS refuses the stage otherwise',
  },
  {
    key: 'apiGatewayCloudWatchRole',
    type: '`managed` \\| `existing`',
    default: '-',
    meaning:
      "The region's API Gateway CloudWatch role: `managed` creates it and sets the account setting from this stack (kept on destroy), `existing` when `aws apigateway get-account` already shows a `cloudwatchRoleArn`",
  },
  {
    key: 'alarmErrorRatePercent',
    type: 'number 0..100',
    default: '5',
    meaning:
      'Pages when a Lambda error or throttle rate, or the API execution error rate, reaches this percentage over 5 minutes',
  },
  {
    key: 'alarmMinRequests',
    type: 'integer >= 1',
    default: '20',
    meaning: 'Requests per 5 minutes below which the rates above do not page',
  },
  {
    key: 'alarmAuthorizerFailures',
    type: 'integer >= 1',
    default: '1',
    meaning:
      "Authorizer failures of the relay's own making (configuration, JWKS, SSM) per 5 minutes that page",
  },
  {
    key: 'alarmTableThrottleEvents',
    type: 'integer >= 1',
    default: '25',
    meaning: 'DynamoDB read or write throttle events per 5 minutes (table or index) that page',
  },
];

/** Keys that were renamed: a stack still setting one gets the new name, not just "unknown". */
const RENAMED_KEYS: Readonly<Record<string, string>> = {
  manageApiGatewayAccount:
    "replaced by mpc-relay:apiGatewayCloudWatchRole 'managed' (and mpc-relay:accessLogs true for this stage's access logs)",
};

/** Where configuration comes from; `pulumi.Config` in a program, a map in tests. */
export interface ConfigSource {
  get(key: string): string | undefined;
  getSecret(key: string): pulumi.Output<string> | undefined;
  /** Every key set in the namespace (to catch typos). */
  keys(): string[];
}

export class RelayConfigError extends Error {
  readonly problems: readonly string[];
  constructor(stack: string, problems: readonly string[]) {
    super(
      `Invalid ${CONFIG_NAMESPACE} configuration for stack '${stack}':\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'RelayConfigError';
    this.problems = problems;
  }
}

/** Reads the stack's configuration through `pulumi.Config`. */
export function pulumiConfigSource(): ConfigSource {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  const prefix = `${CONFIG_NAMESPACE}:`;
  return {
    get: (key) => config.get(key),
    getSecret: (key) => config.getSecret(key),
    keys: () =>
      Object.keys(pulumi.runtime.allConfig())
        .filter((key) => key.startsWith(prefix))
        .map((key) => key.slice(prefix.length)),
  };
}

export function loadRelayConfig(stack = pulumi.getStack(), source = pulumiConfigSource()): RelayConfig {
  return parseRelayConfig(stack, source);
}

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly source: ConfigSource) {}

  private fail(key: string, expected: string, raw: string): undefined {
    this.problems.push(`${CONFIG_NAMESPACE}:${key}: expected ${expected}, got '${raw}'`);
    return undefined;
  }

  raw(key: string): string | undefined {
    const value = this.source.get(key);
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  boolean(key: string, fallback: boolean): boolean {
    const raw = this.raw(key);
    if (raw === undefined) return fallback;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    return this.fail(key, 'true or false', raw) ?? fallback;
  }

  integer(key: string, fallback: number, min: number, max: number): number {
    const raw = this.raw(key);
    if (raw === undefined) return fallback;
    const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      return this.fail(key, `an integer from ${min} to ${max}`, raw) ?? fallback;
    }
    return value;
  }

  positiveNumber(key: string, fallback: number, max: number): number {
    const raw = this.raw(key);
    if (raw === undefined) return fallback;
    const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(value > 0 && value <= max))
      return this.fail(key, `a number above 0 and at most ${max}`, raw) ?? fallback;
    return value;
  }

  oneOf<T extends string | number>(key: string, allowed: readonly T[], fallback: T): T {
    const raw = this.raw(key);
    if (raw === undefined) return fallback;
    const found = allowed.find((value) => String(value) === raw);
    if (found === undefined) return this.fail(key, `one of ${allowed.join(', ')}`, raw) ?? fallback;
    return found;
  }

  matching(key: string, pattern: RegExp, expected: string): string | undefined {
    const raw = this.raw(key);
    if (raw === undefined) return undefined;
    if (!pattern.test(raw)) return this.fail(key, expected, raw);
    return raw;
  }

  list(key: string, item: RegExp, expected: string): string[] {
    const raw = this.raw(key);
    if (raw === undefined) return [];
    let values: unknown;
    if (raw.startsWith('[')) {
      try {
        values = JSON.parse(raw);
      } catch {
        values = undefined;
      }
    } else {
      values = raw.split(',').map((value) => value.trim());
    }
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string' && item.test(v))) {
      return this.fail(key, `a comma-separated list of ${expected}`, raw) ?? [];
    }
    return [...new Set(values as string[])];
  }

  problem(key: string, message: string): void {
    this.problems.push(`${CONFIG_NAMESPACE}:${key}: ${message}`);
  }
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export function parseRelayConfig(stack: string, source: ConfigSource): RelayConfig {
  const read = new Reader(source);
  const known = new Set(CONFIG_KEYS.map((doc) => doc.key));
  for (const key of source.keys()) {
    if (RENAMED_KEYS[key] !== undefined) read.problem(key, RENAMED_KEYS[key]);
    else if (!known.has(key))
      read.problem(key, 'unknown configuration key (see infra/README.md for the list)');
  }

  const production = read.boolean('production', false);
  const authMode = read.oneOf<AuthMode>('authMode', ['static', 'jwt'], 'static');
  const allowStaticAuthInProduction = read.boolean('allowStaticAuthInProduction', false);
  if (production && authMode === 'static' && !allowStaticAuthInProduction) {
    read.problem(
      'authMode',
      "'static' accepts any caller and is refused on a production stack (mpc-relay:production is true); " +
        'use jwt, or set mpc-relay:allowStaticAuthInProduction to true to override',
    );
  }

  const jwtKeys = [
    'jwtSecret',
    'jwtJwksUrl',
    'jwtAudience',
    'jwtIssuer',
    'jwtAlgorithms',
    ...STACK_SETTINGS.filter((setting) => setting.deploy.authMode === 'jwt').map(
      (setting) => setting.deploy.key,
    ),
  ];
  let jwt: JwtConfig | undefined;
  if (authMode === 'jwt') {
    const secret = source.getSecret('jwtSecret');
    const jwksUrl = read.matching('jwtJwksUrl', /^https:\/\/[^\s/]+(\/\S*)?$/, 'an https:// URL');
    if (secret === undefined && jwksUrl === undefined && read.raw('jwtJwksUrl') === undefined) {
      read.problem(
        'jwtSecret',
        'jwt auth needs a key: set mpc-relay:jwtSecret (pulumi config set --secret) or mpc-relay:jwtJwksUrl',
      );
    }
    const algorithms = read.list('jwtAlgorithms', /^.+$/, 'JWS algorithms');
    for (const alg of algorithms) {
      if (!isJwtAlgorithm(alg)) {
        read.problem('jwtAlgorithms', `'${alg}' is not allowed (one of ${JWT_ALGORITHMS.join(', ')})`);
      }
    }
    const usesHmac = algorithms.some(isHmacAlgorithm);
    if (usesHmac && secret === undefined)
      read.problem('jwtAlgorithms', 'HS* algorithms need mpc-relay:jwtSecret');
    const usesKeys = algorithms.some((alg) => !isHmacAlgorithm(alg));
    if (usesKeys && jwksUrl === undefined)
      read.problem('jwtAlgorithms', 'asymmetric algorithms need mpc-relay:jwtJwksUrl');
    if (!usesHmac && algorithms.length > 0 && secret !== undefined) {
      read.problem('jwtSecret', 'is set but mpc-relay:jwtAlgorithms lists no HS* algorithm to use it');
    }
    const audience = read.matching('jwtAudience', /^\S{1,256}$/, 'a non-empty string without spaces');
    const issuer = read.matching('jwtIssuer', /^\S{1,256}$/, 'a non-empty string without spaces');
    const placeholders = (
      [
        ['jwtJwksUrl', jwksUrl],
        ['jwtIssuer', issuer],
        ['jwtAudience', audience],
      ] as const
    ).filter(([, value]) => value !== undefined && isPlaceholder(value));
    if (placeholders.length > 0) {
      const keys = placeholders.map(([key]) => `${CONFIG_NAMESPACE}:${key}`).join(', ');
      read.problem(
        placeholders[0]![0],
        `${keys} still ${placeholders.length > 1 ? 'hold' : 'holds'} an example value (${placeholders
          .map(([, value]) => value)
          .join(', ')}): every handshake would be refused. Set your identity provider's values, e.g. ` +
          `pulumi config set ${CONFIG_NAMESPACE}:jwtJwksUrl https://<your-idp>/.well-known/jwks.json`,
      );
    }
    if (production) {
      const missing = (
        [
          ['jwtIssuer', issuer],
          ['jwtAudience', audience],
        ] as const
      ).filter(([key, value]) => value === undefined && read.raw(key) === undefined);
      for (const [key] of missing) {
        read.problem(
          key,
          'is required on a production stack (mpc-relay:production is true): without it any token your keys ever signed, for any service, is accepted',
        );
      }
    }
    jwt = {
      ...(secret !== undefined ? { secret } : {}),
      ...(jwksUrl !== undefined ? { jwksUrl } : {}),
      ...optional('audience', audience),
      ...optional('issuer', issuer),
      algorithms:
        algorithms.length > 0
          ? algorithms
          : defaultJwtAlgorithms({ secret: secret !== undefined, jwks: jwksUrl !== undefined }),
    };
  } else {
    for (const key of jwtKeys) {
      if (read.raw(key) !== undefined) read.problem(key, "only used with mpc-relay:authMode 'jwt'");
    }
  }

  const stageName =
    read.matching('stageName', /^[A-Za-z0-9_-]{1,128}$/, 'letters, digits, - or _ (e.g. production)') ??
    'production';

  const domainName = read.matching(
    'domainName',
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    'a lower-case DNS name such as relay.example.com',
  );
  const certificateArn = read.matching(
    'certificateArn',
    /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/,
    'an ACM certificate ARN',
  );
  if ((read.raw('domainName') === undefined) !== (read.raw('certificateArn') === undefined)) {
    read.problem(
      read.raw('domainName') ? 'certificateArn' : 'domainName',
      'mpc-relay:domainName and mpc-relay:certificateArn go together',
    );
  }
  const hostedZoneId = read.matching('hostedZoneId', /^Z[A-Z0-9]{1,32}$/, 'a Route 53 hosted zone id (Z...)');
  if (hostedZoneId !== undefined && domainName === undefined) {
    read.problem('hostedZoneId', 'only used with mpc-relay:domainName');
  }

  const handlerSettings: Record<string, number | boolean | string[]> = {};
  for (const setting of STACK_SETTINGS) {
    if (setting.deploy.authMode === 'jwt' && authMode !== 'jwt') continue;
    const key = setting.deploy.key;
    const fallback = stackSettingDefault(setting);
    if (setting.type === 'integer') {
      handlerSettings[key] = read.integer(
        key,
        fallback as number,
        setting.min ?? 0,
        setting.max ?? Number.MAX_SAFE_INTEGER,
      );
    } else if (setting.type === 'on-off') {
      handlerSettings[key] = read.boolean(key, fallback as boolean);
    } else if (setting.type === 'list') {
      const values = read.list(key, NAME, 'names (letters, digits, _ . : -)');
      handlerSettings[key] = values.length > 0 ? values : (fallback as string[]);
    }
  }
  const tenantIsolation = handlerSettings.tenantIsolation === true;
  if (tenantIsolation && authMode === 'static') {
    read.problem(
      'tenantIsolation',
      "needs mpc-relay:authMode 'jwt': teams come from the tokens' teams claim, static auth carries none (every message would be refused)",
    );
  }

  const alarms = read.boolean('alarms', production);
  const alarmEmail = read.matching('alarmEmail', /^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'an email address');
  if (alarmEmail !== undefined && !alarms)
    read.problem('alarmEmail', 'only used when mpc-relay:alarms is true');

  const accessLogs = read.boolean('accessLogs', production);
  const apiGatewayCloudWatchRole = read.oneOf<ApiGatewayCloudWatchRole | ''>(
    'apiGatewayCloudWatchRole',
    ['managed', 'existing'],
    '',
  );
  if (accessLogs && apiGatewayCloudWatchRole === '') {
    read.problem(
      'accessLogs',
      "needs the region's API Gateway CloudWatch role, or AWS refuses the stage ('CloudWatch Logs role ARN must be set in account settings to enable logging'). " +
        "Run `aws apigateway get-account`: with a cloudwatchRoleArn set mpc-relay:apiGatewayCloudWatchRole to 'existing'; " +
        "without, set it to 'managed' on one stack of this account and region; or set mpc-relay:accessLogs to false",
    );
  }

  const config: RelayConfig = {
    stack,
    production,
    authMode,
    allowStaticAuthInProduction,
    ...(jwt !== undefined ? { jwt } : {}),
    stageName,
    ...(handlerSettings as HandlerSettings),
    logLevel: read.oneOf<LogLevel>('logLevel', ['DEBUG', 'INFO', 'WARN', 'ERROR'], 'INFO'),
    architecture: read.oneOf<Architecture>('lambdaArchitecture', ['arm64', 'x86_64'], 'arm64'),
    memoryMb: read.integer('lambdaMemoryMb', 256, 128, 10240),
    timeoutSeconds: read.integer('lambdaTimeoutSeconds', 10, 1, 29),
    logRetentionDays: read.oneOf<number>('logRetentionDays', LOG_RETENTION_DAYS, production ? 90 : 14),
    throttleBurstLimit: read.integer('throttleBurstLimit', 500, 1, 5000),
    throttleRateLimit: read.positiveNumber('throttleRateLimit', 1000, 10000),
    detailedMetrics: read.boolean('detailedMetrics', production),
    pointInTimeRecovery: read.boolean('pointInTimeRecovery', production),
    deletionProtection: read.boolean('deletionProtection', production),
    alarms,
    ...optional('alarmEmail', alarmEmail),
    ...optional('domainName', domainName),
    ...optional('certificateArn', certificateArn),
    ...optional('hostedZoneId', hostedZoneId),
    accessLogs,
    ...(apiGatewayCloudWatchRole !== '' ? { apiGatewayCloudWatchRole } : {}),
    alarmThresholds: {
      errorRatePercent: read.positiveNumber('alarmErrorRatePercent', 5, 100),
      minRequests: read.integer('alarmMinRequests', 20, 1, 1_000_000),
      authorizerFailures: read.integer('alarmAuthorizerFailures', 1, 1, 1_000_000),
      tableThrottleEvents: read.integer('alarmTableThrottleEvents', 25, 1, 1_000_000),
    },
  };
  if (read.problems.length > 0) throw new RelayConfigError(stack, read.problems);
  return config;
}

/**
 * Example values (RFC 2606 / RFC 6761 names: example.com/.net/.org, .example, .test, .invalid,
 * .localhost) that no identity provider uses: a stack file's placeholders.
 */
export function isPlaceholder(value: string): boolean {
  let host = value.toLowerCase();
  try {
    host = new URL(value).hostname.toLowerCase();
  } catch {
    // not a URL (an audience or a bare issuer): look at the value itself
  }
  return /(^|\.)(example\.(com|net|org)|example|test|invalid|localhost)$/.test(host);
}

/** The component arguments of a parsed stack configuration (the stack program's only job). */
export function toRelayArgs(config: RelayConfig): RelayArgs {
  const {
    stack,
    jwt,
    domainName,
    certificateArn,
    hostedZoneId,
    alarmEmail,
    apiGatewayCloudWatchRole,
    ...rest
  } = config;
  return {
    ...rest,
    environment: stack,
    ...(jwt !== undefined ? { jwt } : {}),
    ...(domainName !== undefined ? { domainName } : {}),
    ...(certificateArn !== undefined ? { certificateArn } : {}),
    ...(hostedZoneId !== undefined ? { hostedZoneId } : {}),
    ...(alarmEmail !== undefined ? { alarmEmail } : {}),
    ...(apiGatewayCloudWatchRole !== undefined ? { apiGatewayCloudWatchRole } : {}),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
