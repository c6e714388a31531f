import * as path from 'node:path';
import { FUNCTIONS, HANDLER_NAMES, type HandlerName } from '@mpc-relay/handlers/routes';
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ResolvedRelayArgs } from './args.js';
import { assumeRolePolicy, functionPolicy, type SecretAccess } from './iam.js';
import type { RelayNames } from './names.js';

export const LAMBDA_RUNTIME = 'nodejs22.x';
export const POWERTOOLS_SERVICE_NAME = 'mpc-relay';
export const POWERTOOLS_METRICS_NAMESPACE = 'MpcRelay';

export interface RelayFunction {
  handler: HandlerName;
  function: aws.lambda.Function;
  role: aws.iam.Role;
  policy: aws.iam.RolePolicy;
  logGroup: aws.cloudwatch.LogGroup;
}

export interface FunctionsArgs {
  config: ResolvedRelayArgs;
  table: aws.dynamodb.Table;
  api: aws.apigatewayv2.Api;
  /** `https://API.execute-api.REGION.amazonaws.com/STAGE`, so posts work behind a custom domain too. */
  managementEndpoint: pulumi.Input<string>;
  /** Folder holding `<handler>/index.mjs` (packages/handlers/dist). */
  bundleDir: string;
  secret?: { parameterName: pulumi.Input<string>; access: pulumi.Input<SecretAccess> };
  tags: Record<string, string>;
  /** Logical-name prefix (the component's name). */
  prefix: string;
  names: RelayNames;
}

const text = (value: pulumi.Input<number>): pulumi.Output<string> => pulumi.output(value).apply(String);

/** Environment shared by every handler (the handlers' configuration contract). */
export function handlerEnvironment(
  config: ResolvedRelayArgs,
  tableName: pulumi.Input<string>,
  managementEndpoint: pulumi.Input<string>,
): Record<string, pulumi.Input<string>> {
  return {
    TABLE_NAME: tableName,
    AUTH_MODE: config.authMode,
    MAPPING_TTL_SECONDS: text(config.mappingTtlSeconds),
    INBOX_TTL_SECONDS: text(config.inboxTtlSeconds),
    CONNECTION_TTL_SECONDS: text(config.connectionTtlSeconds),
    ALLOWED_OPERATION_TYPES: pulumi.output(config.allowedOperationTypes).apply((types) => types.join(',')),
    TENANT_ISOLATION: pulumi.output(config.tenantIsolation).apply((on) => (on ? 'on' : 'off')),
    MANAGEMENT_ENDPOINT: managementEndpoint,
    POWERTOOLS_SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE,
    LOG_LEVEL: config.logLevel,
  };
}

/** Token settings, on the authorizer only. The secret travels by reference (the SSM name). */
export function authorizerEnvironment(
  config: ResolvedRelayArgs,
  secretParameterName: pulumi.Input<string> | undefined,
): Record<string, pulumi.Input<string>> {
  const jwt = config.jwt;
  if (jwt === undefined) return {};
  const env: Record<string, pulumi.Input<string>> = {
    JWT_ALGORITHMS: jwt.algorithms.join(','),
    JWT_CLOCK_SKEW_SECONDS: text(jwt.clockSkewSeconds),
  };
  if (secretParameterName !== undefined) env.JWT_SECRET_PARAMETER = secretParameterName;
  if (jwt.jwksUrl !== undefined) env.JWT_JWKS_URL = jwt.jwksUrl;
  if (jwt.audience !== undefined) env.JWT_AUDIENCE = jwt.audience;
  if (jwt.issuer !== undefined) env.JWT_ISSUER = jwt.issuer;
  return env;
}

/** One log group, role, inline policy and function per handler of the route table. */
export function createFunctions(
  args: FunctionsArgs,
  opts: pulumi.CustomResourceOptions,
): Record<HandlerName, RelayFunction> {
  const { config, table, api } = args;
  const shared = handlerEnvironment(config, table.name, args.managementEndpoint);
  const result = {} as Record<HandlerName, RelayFunction>;
  for (const handler of HANDLER_NAMES) {
    const definition = FUNCTIONS[handler];
    const isAuthorizer = handler === 'authorizer';
    const logGroup = new aws.cloudwatch.LogGroup(
      `${args.prefix}-${handler}-logs`,
      {
        name: args.names.path(`lambda/${handler}`),
        retentionInDays: config.logRetentionDays,
        tags: args.tags,
      },
      opts,
    );
    const role = new aws.iam.Role(
      `${args.prefix}-${handler}-role`,
      {
        name: args.names.role(handler),
        description: `mpc-relay ${config.environment} ${handler} function`,
        assumeRolePolicy: JSON.stringify(assumeRolePolicy('lambda.amazonaws.com')),
        tags: args.tags,
      },
      opts,
    );
    const secretAccess = isAuthorizer ? args.secret?.access : undefined;
    const policy = new aws.iam.RolePolicy(
      `${args.prefix}-${handler}-policy`,
      {
        name: args.names.rolePolicy(handler),
        role: role.id,
        policy: pulumi
          .all([logGroup.arn, table.arn, api.executionArn, secretAccess])
          .apply(([logGroupArn, tableArn, executionArn, secret]) =>
            JSON.stringify(
              functionPolicy({
                logGroupArn,
                tableArn,
                executionArn,
                stageName: config.stageName,
                permissions: definition.permissions,
                ...(secret !== undefined ? { secret } : {}),
              }),
            ),
          ),
      },
      opts,
    );
    const fn = new aws.lambda.Function(
      `${args.prefix}-${handler}`,
      {
        name: args.names.fn(handler),
        description: definition.description,
        runtime: LAMBDA_RUNTIME,
        architectures: [config.architecture],
        handler: 'index.handler',
        code: new pulumi.asset.FileArchive(path.join(args.bundleDir, handler)),
        role: role.arn,
        memorySize: config.memoryMb,
        timeout: config.timeoutSeconds,
        environment: {
          variables: {
            ...shared,
            ...(isAuthorizer ? authorizerEnvironment(config, args.secret?.parameterName) : {}),
          },
        },
        loggingConfig: {
          logFormat: 'JSON',
          logGroup: logGroup.name,
          applicationLogLevel: config.logLevel,
          systemLogLevel: 'WARN',
        },
        tags: args.tags,
      },
      // The role may write logs before the first invocation.
      { ...opts, dependsOn: [policy, logGroup] },
    );
    result[handler] = { handler, function: fn, role, policy, logGroup };
  }
  return result;
}
