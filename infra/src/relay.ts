import type { HandlerName } from '@mpc-relay/handlers/routes';
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { type Alarms, createAlarms } from './alarms.js';
import { createApi, createRoutes, createStage, type RoutesResult } from './api.js';
import { type RelayArgs, type ResolvedRelayArgs, resolveRelayArgs } from './args.js';
import { assertBundles, bundleDirectory } from './bundles.js';
import { type CustomDomain, createCustomDomain } from './domain.js';
import { createFunctions, POWERTOOLS_SERVICE_NAME, type RelayFunction } from './functions.js';
import { assumeRolePolicy } from './iam.js';
import { type RelayNames, relayNames } from './names.js';
import { createJwtSecret, type JwtSecret } from './secrets.js';
import { createTable } from './table.js';

export type { RelayArgs };

/**
 * The whole relay: table, functions, WebSocket API, stage, alarms, custom domain. Every argument
 * is optional (`RELAY_DEFAULTS`); constructing it declares its resources, importing this module
 * declares nothing.
 *
 * ```ts
 * const relay = new RelayComponent(`relay-${pulumi.getStack()}`, { authMode: 'jwt', jwt: { jwksUrl } });
 * export const url = relay.url;
 * ```
 */
export class RelayComponent extends pulumi.ComponentResource {
  /** `wss://API.execute-api.REGION.amazonaws.com/STAGE`: what clients connect to. */
  readonly url: pulumi.Output<string>;
  /** `https://API.execute-api.REGION.amazonaws.com/STAGE`: the @connections management API. */
  readonly managementEndpoint: pulumi.Output<string>;
  /** `wss://DOMAIN` when a custom domain is configured. */
  readonly customDomainUrl: pulumi.Output<string> | undefined;
  /** DNS target of the custom domain (for a CNAME when Route 53 is not managed here). */
  readonly customDomainTarget: pulumi.Output<string> | undefined;
  readonly apiId: pulumi.Output<string>;
  readonly stageName: pulumi.Output<string>;
  readonly tableName: pulumi.Output<string>;
  readonly tableArn: pulumi.Output<string>;
  readonly functionNames: pulumi.Output<Record<HandlerName, string>>;
  /** The function to `aws lambda invoke` for a broadcast (the original demo's sendMessage). */
  readonly broadcastFunctionName: pulumi.Output<string>;
  readonly alarmTopicArn: pulumi.Output<string> | undefined;
  readonly jwtSecretParameterName: pulumi.Output<string> | undefined;

  readonly table: aws.dynamodb.Table;
  readonly api: aws.apigatewayv2.Api;
  readonly stage: aws.apigatewayv2.Stage;
  readonly functions: Record<HandlerName, RelayFunction>;
  readonly routes: RoutesResult;
  readonly alarms: Alarms | undefined;
  readonly domain: CustomDomain | undefined;
  readonly jwtSecret: JwtSecret | undefined;
  /** The region's API Gateway CloudWatch role, when this stack manages it. */
  readonly apiGatewayAccount: ApiGatewayAccount | undefined;

  /** The arguments with every default applied. */
  readonly settings: ResolvedRelayArgs;

  constructor(name: string, args: RelayArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super('mpc-relay:index:Relay', name, {}, opts);
    const config = resolveRelayArgs(name, args);
    this.settings = config;
    const bundleDir = config.bundleDir ?? bundleDirectory();
    assertBundles(bundleDir);
    const child: pulumi.CustomResourceOptions = { parent: this };
    const tags = config.tags;
    const names = relayNames(config.namePrefix);

    this.table = createTable(`${name}-table`, names, config, tags, child);
    this.api = createApi(`${name}-api`, names, config, tags, child);
    this.managementEndpoint = pulumi.interpolate`${this.api.apiEndpoint.apply((endpoint) =>
      endpoint.replace(/^wss:\/\//, 'https://'),
    )}/${config.stageName}`;
    this.jwtSecret = createJwtSecret(`${name}-jwt-secret`, names, config, tags, child);
    this.functions = createFunctions(
      {
        config,
        table: this.table,
        api: this.api,
        managementEndpoint: this.managementEndpoint,
        bundleDir,
        ...(this.jwtSecret !== undefined
          ? { secret: { parameterName: this.jwtSecret.parameter.name, access: this.jwtSecret.access } }
          : {}),
        tags,
        prefix: name,
        names,
      },
      child,
    );
    this.routes = createRoutes(name, names, this.api, this.functions, config, child);

    const stageDependsOn: pulumi.Resource[] = [
      ...this.routes.routes.flatMap((r) => [
        r.apiRoute,
        r.integration,
        ...(r.routeResponse ? [r.routeResponse] : []),
      ]),
    ];
    this.apiGatewayAccount =
      config.apiGatewayCloudWatchRole === 'managed'
        ? createApiGatewayAccount(name, names, tags, child)
        : undefined;
    if (this.apiGatewayAccount !== undefined) stageDependsOn.push(this.apiGatewayAccount.account);
    const { stage } = createStage(name, names, this.api, config, stageDependsOn, tags, child);
    this.stage = stage;
    this.stageName = stage.name;
    this.url = pulumi.interpolate`${this.api.apiEndpoint}/${stage.name}`;
    this.apiId = this.api.id;
    this.tableName = this.table.name;
    this.tableArn = this.table.arn;

    const functionNames = Object.fromEntries(
      Object.entries(this.functions).map(([handler, fn]) => [handler, fn.function.name]),
    ) as Record<HandlerName, pulumi.Output<string>>;
    this.functionNames = pulumi.all(functionNames) as pulumi.Output<Record<HandlerName, string>>;
    this.broadcastFunctionName = functionNames.broadcast;

    this.alarms = config.alarms
      ? createAlarms(
          {
            config,
            names,
            prefix: name,
            functionNames,
            authorizerLogGroupName: this.functions.authorizer.logGroup.name,
            serviceName: POWERTOOLS_SERVICE_NAME,
            apiId: this.api.id,
            stageName: stage.name,
            tableName: this.table.name,
            tags,
          },
          child,
        )
      : undefined;
    this.alarmTopicArn = this.alarms?.topic.arn;
    this.domain = createCustomDomain(name, config, this.api, stage, tags, child);
    this.customDomainUrl = this.domain?.url;
    this.customDomainTarget = this.domain?.target;
    this.jwtSecretParameterName = this.jwtSecret?.parameter.name;

    this.registerOutputs({
      url: this.url,
      managementEndpoint: this.managementEndpoint,
      customDomainUrl: this.customDomainUrl,
      customDomainTarget: this.customDomainTarget,
      apiId: this.apiId,
      stageName: this.stageName,
      tableName: this.tableName,
      tableArn: this.tableArn,
      functionNames: this.functionNames,
      broadcastFunctionName: this.broadcastFunctionName,
      alarmTopicArn: this.alarmTopicArn,
      jwtSecretParameterName: this.jwtSecretParameterName,
    });
  }
}

export interface ApiGatewayAccount {
  role: aws.iam.Role;
  attachment: aws.iam.RolePolicyAttachment;
  account: aws.apigateway.Account;
}

/**
 * API Gateway writes access logs through ONE CloudWatch role per account and region, shared by
 * every API there. Deleting `aws.apigateway.Account` resets that setting (Terraform AWS provider
 * v6, which @pulumi/aws 7 wraps), which would silently stop the logging of every other API of the
 * region, so the role, its policy and the setting are kept on destroy (`retainOnDelete`).
 */
function createApiGatewayAccount(
  prefix: string,
  names: RelayNames,
  tags: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): ApiGatewayAccount {
  const keep: pulumi.CustomResourceOptions = { ...opts, retainOnDelete: true };
  const role = new aws.iam.Role(
    `${prefix}-apigateway-cloudwatch-role`,
    {
      name: names.apiGatewayCloudWatchRole(),
      description:
        'API Gateway access logging for this account and region (kept when the stack is destroyed)',
      assumeRolePolicy: JSON.stringify(assumeRolePolicy('apigateway.amazonaws.com')),
      tags,
    },
    keep,
  );
  const attachment = new aws.iam.RolePolicyAttachment(
    `${prefix}-apigateway-cloudwatch-policy`,
    {
      role: role.name,
      policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
    },
    keep,
  );
  const account = new aws.apigateway.Account(
    `${prefix}-apigateway-account`,
    { cloudwatchRoleArn: role.arn },
    { ...keep, dependsOn: [attachment] },
  );
  return { role, attachment, account };
}
