import * as path from 'node:path';
import { FUNCTIONS, HANDLER_NAMES, type HandlerName } from '@mpc-relay/handlers/routes';
import { settingEnvValue, settingsOf } from '@mpc-relay/handlers/settings';
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

/**
 * The values the program sets itself (`deploy.by: 'program'` in the handlers' contract): from its
 * resources and its auth settings. The HS* secret travels by reference (the SSM parameter name).
 */
export function programValues(
  config: ResolvedRelayArgs,
  tableName: pulumi.Input<string>,
  managementEndpoint: pulumi.Input<string>,
  secretParameterName: pulumi.Input<string> | undefined,
): Record<string, pulumi.Input<string> | undefined> {
  const jwt = config.jwt;
  return {
    TABLE_NAME: tableName,
    AUTH_MODE: config.authMode,
    MANAGEMENT_ENDPOINT: managementEndpoint,
    POWERTOOLS_SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE,
    LOG_LEVEL: config.logLevel,
    JWT_SECRET_PARAMETER: jwt !== undefined ? secretParameterName : undefined,
    JWT_ALGORITHMS: jwt?.algorithms.join(','),
    JWT_JWKS_URL: jwt?.jwksUrl,
    JWT_AUDIENCE: jwt?.audience,
    JWT_ISSUER: jwt?.issuer,
  };
}

/**
 * A function's environment, derived from the handlers' contract: every setting the handler reads
 * that the stack sets (from `config.handlerSettings`, in environment form) or the program sets
 * (`programValues`). Nothing outside the contract, nothing the handler does not read.
 */
export function environmentFor(
  handler: HandlerName,
  config: ResolvedRelayArgs,
  program: Record<string, pulumi.Input<string> | undefined>,
): Record<string, pulumi.Input<string>> {
  const env: Record<string, pulumi.Input<string>> = {};
  for (const setting of settingsOf(handler)) {
    const deploy = setting.deploy;
    if (deploy.by === 'stack') {
      const value = config.handlerSettings[deploy.key];
      if (value !== undefined) env[setting.name] = pulumi.output(value).apply(settingEnvValue);
    } else if (deploy.by === 'program') {
      const value = program[setting.name];
      if (value !== undefined) env[setting.name] = value;
    }
  }
  return env;
}

/** One log group, role, inline policy and function per handler of the route table. */
export function createFunctions(
  args: FunctionsArgs,
  opts: pulumi.CustomResourceOptions,
): Record<HandlerName, RelayFunction> {
  const { config, table, api } = args;
  const program = programValues(config, table.name, args.managementEndpoint, args.secret?.parameterName);
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
        environment: { variables: environmentFor(handler, config, program) },
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
