/**
 * The relay component's arguments and their defaults. Values that only flow into resource
 * properties are `pulumi.Input`s (another program may pass outputs of its own resources); values
 * that decide WHICH resources exist, or appear in ARNs and policies, are plain.
 */
import { defaultJwtAlgorithms, isHmacAlgorithm, isJwtAlgorithm } from '@mpc-relay/handlers/jwt-algorithms';
import {
  STACK_SETTINGS,
  type StackSettingKey,
  type StackSettingValues,
  stackSettingDefault,
} from '@mpc-relay/handlers/settings';
import * as pulumi from '@pulumi/pulumi';

export type AuthMode = 'static' | 'jwt';
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type Architecture = 'arm64' | 'x86_64';
export type ApiGatewayCloudWatchRole = 'managed' | 'existing';

/** What pages: documented in infra/README.md ("Alarms"). Plain numbers. */
export interface AlarmThresholds {
  /** Lambda error / throttle rate and API execution error rate, percent of requests, per 5 minutes. */
  errorRatePercent: number;
  /** Requests in 5 minutes below which a rate does not page (one failure of two is no outage). */
  minRequests: number;
  /** Authorizer failures of the relay's own making (configuration, key sources) per 5 minutes. */
  authorizerFailures: number;
  /** DynamoDB throttle events per 5 minutes (the SDK retries them; sustained ones fail requests). */
  tableThrottleEvents: number;
}

export interface JwtArgs {
  /** HS* shared secret: stored as an SSM SecureString, the authorizer gets only its name. */
  secret?: pulumi.Input<string>;
  /** JWKS URL for RS, PS, ES and EdDSA tokens. */
  jwksUrl?: pulumi.Input<string>;
  /** Required `aud` claim. */
  audience?: pulumi.Input<string>;
  /** Required `iss` claim. */
  issuer?: pulumi.Input<string>;
  /** Accepted JWS algorithms (plain: they decide the secret's IAM access). Default: HS256 with a secret, else RS256, ES256, EdDSA. */
  algorithms?: string[];
}

/**
 * The handler settings, one optional argument per stack-set entry of the handlers' contract
 * (`@mpc-relay/handlers/settings`): `mappingTtlSeconds`, `inboxTtlSeconds`, `connectionTtlSeconds`,
 * `dedupeTtlSeconds`, `redeliveryDelaySeconds`, `allowedOperationTypes`, `tenantIsolation`, and with
 * jwt `jwtClockSkewSeconds`, `jwtJwksCooldownSeconds`, `jwtSecretMaxAgeSeconds`. Defaults: the
 * contract's. Each becomes its environment variable on the functions that read it.
 */
export type HandlerSettingArgs = { [K in StackSettingKey]?: pulumi.Input<StackSettingValues[K]> };

/** Arguments of `RelayComponent`. Every one is optional; the defaults are `RELAY_DEFAULTS`. */
export interface RelayArgs extends HandlerSettingArgs {
  /** Folder holding `<handler>/index.mjs` for every handler. Default: `@mpc-relay/handlers`' dist. */
  bundleDir?: string;
  /** Prefix of every physical name (unique per account and region). Default: the component name. */
  namePrefix?: string;
  /** Label in descriptions and the `stack` tag. Default: the Pulumi stack. */
  environment?: string;
  /** Production defaults (longer logs, PITR, deletion protection, alarms, access logs) and no `static` auth. Default false. */
  production?: boolean;
  /** Default `static` (`Authorization: Allow`: development only). */
  authMode?: AuthMode;
  /** Allows `static` auth with `production: true`. Default false. */
  allowStaticAuthInProduction?: boolean;
  /** Token settings, with `authMode: 'jwt'`. */
  jwt?: JwtArgs;
  /** Stage name (part of the URL). Default `production`. */
  stageName?: string;
  /** Default `INFO`. */
  logLevel?: pulumi.Input<LogLevel>;
  /** Default `arm64`. */
  architecture?: pulumi.Input<Architecture>;
  /** Default 256. */
  memoryMb?: pulumi.Input<number>;
  /** Default 10 (API Gateway stops waiting at 29 s). */
  timeoutSeconds?: pulumi.Input<number>;
  /** Function and access log retention. Default 14, 90 with `production`. */
  logRetentionDays?: pulumi.Input<number>;
  /** Stage default route burst limit. Default 500. */
  throttleBurstLimit?: pulumi.Input<number>;
  /** Stage default route rate (requests/s). Default 1000. */
  throttleRateLimit?: pulumi.Input<number>;
  /** Per-route CloudWatch metrics. Default = production. */
  detailedMetrics?: pulumi.Input<boolean>;
  /** DynamoDB point-in-time recovery. Default = production. */
  pointInTimeRecovery?: pulumi.Input<boolean>;
  /** DynamoDB deletion protection. Default = production. */
  deletionProtection?: pulumi.Input<boolean>;
  /** CloudWatch alarms to an SNS topic. Default = production. */
  alarms?: boolean;
  /** Subscribes this address to the alarm topic. */
  alarmEmail?: pulumi.Input<string>;
  /** Default `DEFAULT_ALARM_THRESHOLDS`. */
  alarmThresholds?: Partial<AlarmThresholds>;
  /** Custom domain (with `certificateArn`, a regional ACM certificate). */
  domainName?: pulumi.Input<string>;
  certificateArn?: pulumi.Input<string>;
  /** Route 53 zone: creates the alias record for `domainName`. */
  hostedZoneId?: pulumi.Input<string>;
  /** Stage access logs; needs `apiGatewayCloudWatchRole`. Default = production. */
  accessLogs?: boolean;
  /** `managed`: this component sets the region's API Gateway CloudWatch role (kept on destroy); `existing`: already set. */
  apiGatewayCloudWatchRole?: ApiGatewayCloudWatchRole;
  /** Extra tags on every resource that takes tags. */
  tags?: Record<string, string>;
}

export const DEFAULT_ALARM_THRESHOLDS: AlarmThresholds = {
  errorRatePercent: 5,
  minRequests: 20,
  authorizerFailures: 1,
  tableThrottleEvents: 25,
};

export const RELAY_DEFAULTS = {
  production: false,
  authMode: 'static',
  stageName: 'production',
  logLevel: 'INFO',
  architecture: 'arm64',
  memoryMb: 256,
  timeoutSeconds: 10,
  logRetentionDays: { development: 14, production: 90 },
  throttleBurstLimit: 500,
  throttleRateLimit: 1000,
} as const;

/** `RelayArgs` with every default applied: what the modules build from. */
export interface ResolvedRelayArgs {
  bundleDir: string | undefined;
  namePrefix: string;
  environment: string;
  production: boolean;
  authMode: AuthMode;
  jwt?: {
    secret?: pulumi.Input<string>;
    jwksUrl?: pulumi.Input<string>;
    audience?: pulumi.Input<string>;
    issuer?: pulumi.Input<string>;
    algorithms: string[];
  };
  stageName: string;
  /** Every handler setting by stack key, defaults applied (jwt-only ones only with jwt). */
  handlerSettings: Record<string, pulumi.Input<number | boolean | string[] | string>>;
  logLevel: pulumi.Input<LogLevel>;
  architecture: pulumi.Input<Architecture>;
  memoryMb: pulumi.Input<number>;
  timeoutSeconds: pulumi.Input<number>;
  logRetentionDays: pulumi.Input<number>;
  throttleBurstLimit: pulumi.Input<number>;
  throttleRateLimit: pulumi.Input<number>;
  detailedMetrics: pulumi.Input<boolean>;
  pointInTimeRecovery: pulumi.Input<boolean>;
  deletionProtection: pulumi.Input<boolean>;
  alarms: boolean;
  alarmEmail?: pulumi.Input<string>;
  alarmThresholds: AlarmThresholds;
  domain?: {
    name: pulumi.Input<string>;
    certificateArn: pulumi.Input<string>;
    hostedZoneId?: pulumi.Input<string>;
  };
  accessLogs: boolean;
  apiGatewayCloudWatchRole?: ApiGatewayCloudWatchRole;
  tags: Record<string, string>;
}

export class RelayArgsError extends Error {
  override name = 'RelayArgsError';
}

/**
 * Applies the defaults and refuses, before any resource is declared, what could never work. (The
 * stack program validates its configuration far more closely, naming each config key.)
 */
export function resolveRelayArgs(name: string, args: RelayArgs = {}): ResolvedRelayArgs {
  const production = args.production ?? RELAY_DEFAULTS.production;
  const authMode = args.authMode ?? RELAY_DEFAULTS.authMode;
  const problems: string[] = [];
  if (authMode !== 'static' && authMode !== 'jwt')
    problems.push(`authMode must be 'static' or 'jwt', got '${authMode}'`);
  if (production && authMode === 'static' && args.allowStaticAuthInProduction !== true) {
    problems.push(
      "authMode 'static' accepts any caller: refused with production (allowStaticAuthInProduction overrides)",
    );
  }
  let jwt: ResolvedRelayArgs['jwt'];
  if (authMode === 'jwt') {
    const given = args.jwt ?? {};
    if (given.secret === undefined && given.jwksUrl === undefined)
      problems.push('jwt needs jwt.secret or jwt.jwksUrl');
    const algorithms =
      given.algorithms ??
      defaultJwtAlgorithms({ secret: given.secret !== undefined, jwks: given.jwksUrl !== undefined });
    for (const alg of algorithms)
      if (!isJwtAlgorithm(alg)) problems.push(`jwt.algorithms: '${alg}' is not allowed`);
    if (algorithms.some(isHmacAlgorithm) && given.secret === undefined)
      problems.push('jwt.algorithms: HS* needs jwt.secret');
    if (algorithms.some((alg) => !isHmacAlgorithm(alg)) && given.jwksUrl === undefined)
      problems.push('jwt.algorithms: asymmetric algorithms need jwt.jwksUrl');
    jwt = {
      ...(given.secret !== undefined ? { secret: given.secret } : {}),
      ...(given.jwksUrl !== undefined ? { jwksUrl: given.jwksUrl } : {}),
      ...(given.audience !== undefined ? { audience: given.audience } : {}),
      ...(given.issuer !== undefined ? { issuer: given.issuer } : {}),
      algorithms,
    };
  } else if (args.jwt !== undefined) {
    problems.push("jwt settings are only used with authMode 'jwt'");
  }
  const accessLogs = args.accessLogs ?? production;
  if (accessLogs && args.apiGatewayCloudWatchRole === undefined) {
    problems.push(
      "accessLogs needs apiGatewayCloudWatchRole ('existing' when `aws apigateway get-account` shows a cloudwatchRoleArn, else 'managed'): AWS refuses the stage otherwise",
    );
  }
  if ((args.domainName === undefined) !== (args.certificateArn === undefined)) {
    problems.push('domainName and certificateArn go together');
  }
  const stageName = args.stageName ?? RELAY_DEFAULTS.stageName;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName))
    problems.push(`stageName '${stageName}': letters, digits, - or _`);
  if (problems.length > 0) {
    throw new RelayArgsError(
      `Invalid arguments for the relay '${name}':\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  const environment = args.environment ?? pulumi.getStack();
  const handlerSettings: ResolvedRelayArgs['handlerSettings'] = {};
  for (const setting of STACK_SETTINGS) {
    const key = setting.deploy.key as StackSettingKey;
    const given = args[key];
    if (setting.deploy.authMode === 'jwt' && authMode !== 'jwt') {
      if (given !== undefined) problems.push(`${key} is only used with authMode 'jwt'`);
      continue;
    }
    handlerSettings[key] = given ?? stackSettingDefault(setting);
  }
  if (problems.length > 0) {
    throw new RelayArgsError(
      `Invalid arguments for the relay '${name}':\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return {
    bundleDir: args.bundleDir,
    namePrefix: args.namePrefix ?? name,
    environment,
    production,
    authMode,
    ...(jwt !== undefined ? { jwt } : {}),
    stageName,
    handlerSettings,
    logLevel: args.logLevel ?? RELAY_DEFAULTS.logLevel,
    architecture: args.architecture ?? RELAY_DEFAULTS.architecture,
    memoryMb: args.memoryMb ?? RELAY_DEFAULTS.memoryMb,
    timeoutSeconds: args.timeoutSeconds ?? RELAY_DEFAULTS.timeoutSeconds,
    logRetentionDays:
      args.logRetentionDays ??
      (production ? RELAY_DEFAULTS.logRetentionDays.production : RELAY_DEFAULTS.logRetentionDays.development),
    throttleBurstLimit: args.throttleBurstLimit ?? RELAY_DEFAULTS.throttleBurstLimit,
    throttleRateLimit: args.throttleRateLimit ?? RELAY_DEFAULTS.throttleRateLimit,
    detailedMetrics: args.detailedMetrics ?? production,
    pointInTimeRecovery: args.pointInTimeRecovery ?? production,
    deletionProtection: args.deletionProtection ?? production,
    alarms: args.alarms ?? production,
    ...(args.alarmEmail !== undefined ? { alarmEmail: args.alarmEmail } : {}),
    alarmThresholds: { ...DEFAULT_ALARM_THRESHOLDS, ...args.alarmThresholds },
    ...(args.domainName !== undefined && args.certificateArn !== undefined
      ? {
          domain: {
            name: args.domainName,
            certificateArn: args.certificateArn,
            ...(args.hostedZoneId !== undefined ? { hostedZoneId: args.hostedZoneId } : {}),
          },
        }
      : {}),
    accessLogs,
    ...(args.apiGatewayCloudWatchRole !== undefined
      ? { apiGatewayCloudWatchRole: args.apiGatewayCloudWatchRole }
      : {}),
    tags: { project: 'mpc-relay', stack: environment, 'managed-by': 'pulumi', ...args.tags },
  };
}
