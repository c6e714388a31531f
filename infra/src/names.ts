/**
 * Physical names that always fit. Every resource with a name limit gets an explicit, deterministic
 * name `<prefix>-<suffix>`; when that would be too long, the prefix is cut and an 8-character hash
 * of the full name keeps it unique. Characters AWS refuses in some names (a Pulumi stack may
 * contain `.`) become `-`.
 */
import { createHash } from 'node:crypto';

/** AWS limits of the names the relay sets. */
export const NAME_LIMITS = {
  iamRole: 64,
  iamRolePolicy: 128,
  lambdaFunction: 64,
  lambdaStatementId: 100,
  apiGatewayApi: 128,
  apiGatewayAuthorizer: 128,
  dynamodbTable: 255,
  snsTopic: 256,
  cloudwatchAlarm: 255,
  logMetricFilter: 512,
  logGroup: 512,
} as const;

/** Pulumi's maximum stack name length. */
export const MAX_STACK_NAME_LENGTH = 100;

const UNSAFE = /[^A-Za-z0-9_-]+/g;

export function physicalName(prefix: string, suffix: string, limit: number): string {
  const base = prefix.replace(UNSAFE, '-');
  const tail = suffix.replace(UNSAFE, '-');
  const full = `${base}-${tail}`;
  if (full.length <= limit) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  const room = limit - tail.length - hash.length - 2;
  if (room < 1) throw new Error(`name suffix '${suffix}' cannot fit in ${limit} characters`);
  return `${base.slice(0, room).replace(/-+$/, '')}-${hash}-${tail}`;
}

/** Names of one relay's resources, all derived from one prefix (unique per account and region). */
export function relayNames(prefix: string) {
  const name = (suffix: string, limit: number) => physicalName(prefix, suffix, limit);
  return {
    prefix,
    fn: (handler: string) => name(handler, NAME_LIMITS.lambdaFunction),
    role: (handler: string) => name(handler, NAME_LIMITS.iamRole),
    rolePolicy: (handler: string) => name(handler, NAME_LIMITS.iamRolePolicy),
    statementId: (what: string) => name(what, NAME_LIMITS.lambdaStatementId),
    api: () => name('ws', NAME_LIMITS.apiGatewayApi),
    authorizer: (mode: string) => name(`${mode}-authorizer`, NAME_LIMITS.apiGatewayAuthorizer),
    table: () => name('relay', NAME_LIMITS.dynamodbTable),
    topic: () => name('alarms', NAME_LIMITS.snsTopic),
    alarm: (what: string) => name(what, NAME_LIMITS.cloudwatchAlarm),
    metricFilter: (what: string) => name(what, NAME_LIMITS.logMetricFilter),
    apiGatewayCloudWatchRole: () => name('apigw-cloudwatch', NAME_LIMITS.iamRole),
    /** Log groups and the SSM parameter: `/<prefix>/lambda/<handler>`, `/<prefix>/jwt-secret`. */
    path: (path: string) => `/${prefix.replace(/[^A-Za-z0-9_.-]+/g, '-')}/${path}`,
  };
}

export type RelayNames = ReturnType<typeof relayNames>;
