import type { HandlerName } from '@mpc-relay/handlers/routes';
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { type Alarms, createAlarms } from './alarms.js';
import { createApi, createRoutes, createStage, type RoutesResult } from './api.js';
import type { RelayConfig } from './config.js';
import { type CustomDomain, createCustomDomain } from './domain.js';
import { createFunctions, type RelayFunction } from './functions.js';
import { assumeRolePolicy } from './iam.js';
import { createJwtSecret, type JwtSecret } from './secrets.js';
import { createTable } from './table.js';

export interface RelayArgs {
  config: RelayConfig;
  /** Folder with one `<handler>/index.mjs` bundle per handler (packages/handlers/dist). */
  bundleDir: string;
}

/** The whole relay of one stack: table, functions, WebSocket API, stage, alarms, domain. */
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

  constructor(name: string, args: RelayArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mpc-relay:index:Relay', name, {}, opts);
    const { config } = args;
    const child: pulumi.CustomResourceOptions = { parent: this };
    const tags = { project: 'mpc-relay', stack: config.stack, 'managed-by': 'pulumi' };

    this.table = createTable(`${name}-table`, config, tags, child);
    this.api = createApi(`${name}-api`, config, tags, child);
    this.managementEndpoint = pulumi.interpolate`${this.api.apiEndpoint.apply((endpoint) =>
      endpoint.replace(/^wss:\/\//, 'https://'),
    )}/${config.stageName}`;
    this.jwtSecret = createJwtSecret(`${name}-jwt-secret`, config, tags, child);
    this.functions = createFunctions(
      {
        config,
        table: this.table,
        api: this.api,
        managementEndpoint: this.managementEndpoint,
        bundleDir: args.bundleDir,
        ...(this.jwtSecret !== undefined
          ? { secret: { parameterName: this.jwtSecret.parameter.name, access: this.jwtSecret.access } }
          : {}),
        tags,
        prefix: name,
      },
      child,
    );
    this.routes = createRoutes(name, this.api, this.functions, config, child);

    const stageDependsOn: pulumi.Resource[] = [
      ...this.routes.routes.flatMap((r) => [
        r.apiRoute,
        r.integration,
        ...(r.routeResponse ? [r.routeResponse] : []),
      ]),
    ];
    if (config.manageApiGatewayAccount) stageDependsOn.push(createApiGatewayAccount(name, child));
    const { stage } = createStage(name, this.api, config, stageDependsOn, tags, child);
    this.stage = stage;
    this.stageName = stage.name;
    this.url = pulumi.interpolate`${this.api.apiEndpoint}/${stage.name}`;
    this.apiId = this.api.id;
    this.tableName = this.table.name;
    this.tableArn = this.table.arn;

    const names = Object.fromEntries(
      Object.entries(this.functions).map(([handler, fn]) => [handler, fn.function.name]),
    ) as Record<HandlerName, pulumi.Output<string>>;
    this.functionNames = pulumi.all(names) as pulumi.Output<Record<HandlerName, string>>;
    this.broadcastFunctionName = names.broadcast;

    this.alarms = config.alarms
      ? createAlarms(
          {
            config,
            prefix: name,
            functionNames: names,
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
      apiId: this.apiId,
      stageName: this.stageName,
      tableName: this.tableName,
      functionNames: this.functionNames,
      broadcastFunctionName: this.broadcastFunctionName,
      alarmTopicArn: this.alarmTopicArn,
      jwtSecretParameterName: this.jwtSecretParameterName,
    });
  }
}

/**
 * API Gateway writes WebSocket access logs through one CloudWatch role per account and region.
 * Opt-in (`manageApiGatewayAccount`), because that setting is shared by every API of the region.
 */
function createApiGatewayAccount(prefix: string, opts: pulumi.CustomResourceOptions): aws.apigateway.Account {
  const role = new aws.iam.Role(
    `${prefix}-apigateway-cloudwatch-role`,
    { assumeRolePolicy: JSON.stringify(assumeRolePolicy('apigateway.amazonaws.com')) },
    opts,
  );
  const attachment = new aws.iam.RolePolicyAttachment(
    `${prefix}-apigateway-cloudwatch-policy`,
    {
      role: role.name,
      policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
    },
    opts,
  );
  return new aws.apigateway.Account(
    `${prefix}-apigateway-account`,
    { cloudwatchRoleArn: role.arn },
    { ...opts, dependsOn: [attachment] },
  );
}
