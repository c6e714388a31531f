import { AUTHORIZER, type HandlerName, ROUTES, type RouteDefinition } from '@mpc-relay/handlers/routes';
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ResolvedRelayArgs } from './args.js';
import type { RelayFunction } from './functions.js';
import type { RelayNames } from './names.js';

export function createApi(
  name: string,
  names: RelayNames,
  config: ResolvedRelayArgs,
  tags: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): aws.apigatewayv2.Api {
  return new aws.apigatewayv2.Api(
    name,
    {
      name: names.api(),
      description: `mpc-relay WebSocket relay (${config.environment})`,
      protocolType: 'WEBSOCKET',
      routeSelectionExpression: '$request.body.action',
      tags,
    },
    opts,
  );
}

/** A safe logical-name fragment for a route key (`$connect` -> `connect`). */
export function routeSlug(routeKey: string): string {
  return routeKey.replace(/^\$/, '').replace(/[^A-Za-z0-9-]/g, '-');
}

export interface RouteResources {
  route: RouteDefinition;
  integration: aws.apigatewayv2.Integration;
  apiRoute: aws.apigatewayv2.Route;
  routeResponse?: aws.apigatewayv2.RouteResponse;
  permission: aws.lambda.Permission;
}

export interface RoutesResult {
  authorizer: aws.apigatewayv2.Authorizer;
  authorizerPermission: aws.lambda.Permission;
  routes: RouteResources[];
}

/**
 * One AWS_PROXY integration, route and invoke permission per entry of the route table (the table
 * is the only list of routes), plus the REQUEST authorizer on `$connect`.
 */
export function createRoutes(
  prefix: string,
  names: RelayNames,
  api: aws.apigatewayv2.Api,
  functions: Record<HandlerName, RelayFunction>,
  config: ResolvedRelayArgs,
  opts: pulumi.CustomResourceOptions,
): RoutesResult {
  const authorizerFn = functions[AUTHORIZER.handler].function;
  const identitySources = [...AUTHORIZER.identitySources[config.authMode]];
  const authorizer = new aws.apigatewayv2.Authorizer(
    `${prefix}-authorizer`,
    {
      apiId: api.id,
      name: names.authorizer(config.authMode),
      authorizerType: 'REQUEST',
      authorizerUri: authorizerFn.invokeArn,
      // Missing identity sources make API Gateway answer 401 without invoking the function.
      ...(identitySources.length > 0 ? { identitySources } : {}),
    },
    opts,
  );
  const authorizerPermission = new aws.lambda.Permission(
    `${prefix}-authorizer-invoke`,
    {
      statementId: names.statementId('authorizer-invoke'),
      action: 'lambda:InvokeFunction',
      function: authorizerFn.name,
      principal: 'apigateway.amazonaws.com',
      sourceArn: pulumi.interpolate`${api.executionArn}/authorizers/${authorizer.id}`,
    },
    opts,
  );

  const routes = ROUTES.map((route): RouteResources => {
    const slug = `${prefix}-${routeSlug(route.routeKey)}`;
    const fn = functions[route.handler].function;
    const integration = new aws.apigatewayv2.Integration(
      `${slug}-integration`,
      {
        apiId: api.id,
        description: `${route.routeKey} -> ${route.handler}`,
        integrationType: 'AWS_PROXY',
        integrationMethod: 'POST',
        integrationUri: fn.invokeArn,
        contentHandlingStrategy: 'CONVERT_TO_TEXT',
      },
      opts,
    );
    const apiRoute = new aws.apigatewayv2.Route(
      `${slug}-route`,
      {
        apiId: api.id,
        routeKey: route.routeKey,
        target: pulumi.interpolate`integrations/${integration.id}`,
        ...(route.authorized
          ? { authorizationType: 'CUSTOM', authorizerId: authorizer.id }
          : { authorizationType: 'NONE' }),
        // Two-way: the handler's returned body goes back to the caller.
        ...(route.twoWay ? { routeResponseSelectionExpression: '$default' } : {}),
      },
      opts,
    );
    const routeResponse = route.twoWay
      ? new aws.apigatewayv2.RouteResponse(
          `${slug}-route-response`,
          { apiId: api.id, routeId: apiRoute.id, routeResponseKey: '$default' },
          opts,
        )
      : undefined;
    const permission = new aws.lambda.Permission(
      `${slug}-invoke`,
      {
        statementId: names.statementId(`${routeSlug(route.routeKey)}-invoke`),
        action: 'lambda:InvokeFunction',
        function: fn.name,
        principal: 'apigateway.amazonaws.com',
        // Only this route of this stage may invoke the function.
        sourceArn: pulumi.interpolate`${api.executionArn}/${config.stageName}/${route.routeKey}`,
      },
      opts,
    );
    return { route, integration, apiRoute, ...(routeResponse ? { routeResponse } : {}), permission };
  });
  return { authorizer, authorizerPermission, routes };
}

/**
 * Access log fields. Only request metadata: never the query string (tokens may travel there) and
 * never bodies (signing payloads).
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  routeKey: '$context.routeKey',
  eventType: '$context.eventType',
  connectionId: '$context.connectionId',
  messageId: '$context.messageId',
  status: '$context.status',
  error: '$context.error.message',
  errorType: '$context.error.responseType',
  authorizerError: '$context.authorizer.error',
  peerType: '$context.authorizer.peerType',
  peerId: '$context.authorizer.peerId',
  integrationStatus: '$context.integration.status',
  integrationError: '$context.integration.error',
  integrationLatency: '$context.integration.latency',
});

/**
 * The stage. Access logs only when `config.accessLogs`: AWS refuses a stage with access logs while
 * the region's API Gateway CloudWatch role is unset, so config validation demands that the role is
 * either managed here (then `dependsOn` holds the account setting) or declared to exist.
 */
export function createStage(
  prefix: string,
  names: RelayNames,
  api: aws.apigatewayv2.Api,
  config: ResolvedRelayArgs,
  dependsOn: pulumi.Resource[],
  tags: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): { stage: aws.apigatewayv2.Stage; accessLogGroup: aws.cloudwatch.LogGroup | undefined } {
  const accessLogGroup = config.accessLogs
    ? new aws.cloudwatch.LogGroup(
        `${prefix}-access-logs`,
        { name: names.path('api-access'), retentionInDays: config.logRetentionDays, tags },
        opts,
      )
    : undefined;
  const stage = new aws.apigatewayv2.Stage(
    `${prefix}-stage`,
    {
      apiId: api.id,
      name: config.stageName,
      description: `mpc-relay ${config.environment}`,
      autoDeploy: true,
      defaultRouteSettings: {
        throttlingBurstLimit: config.throttleBurstLimit,
        throttlingRateLimit: config.throttleRateLimit,
        detailedMetricsEnabled: config.detailedMetrics,
        // Never log message bodies (partial signatures).
        dataTraceEnabled: false,
      },
      ...(accessLogGroup !== undefined
        ? { accessLogSettings: { destinationArn: accessLogGroup.arn, format: ACCESS_LOG_FORMAT } }
        : {}),
      tags,
    },
    { ...opts, dependsOn },
  );
  return { stage, accessLogGroup };
}
