import * as path from 'node:path';
import { AUTHORIZER, HANDLER_NAMES, ROUTES } from '@mpc-relay/handlers/routes';
import { SETTINGS, settingFor, settingsOf } from '@mpc-relay/handlers/settings';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_LOG_FORMAT } from '../src/api.js';
import { type Program, prodConfig, readStackConfig, runProgram, stubBundles, TEST_IDP } from './harness.js';

const INTEGRATION = 'aws:apigatewayv2/integration:Integration';
const ROUTE = 'aws:apigatewayv2/route:Route';
const ROUTE_RESPONSE = 'aws:apigatewayv2/routeResponse:RouteResponse';
const PERMISSION = 'aws:lambda/permission:Permission';
const AUTHORIZER_TYPE = 'aws:apigatewayv2/authorizer:Authorizer';
const FUNCTION = 'aws:lambda/function:Function';

describe('WebSocket API from the route table (dev stack, static auth)', () => {
  let p: Program;
  beforeAll(async () => {
    p = await runProgram(readStackConfig('dev'), { stack: 'dev' });
  });

  it('is a WEBSOCKET API routed by $request.body.action', () => {
    const api = p.api();
    expect(api.inputs.protocolType).toBe('WEBSOCKET');
    expect(api.inputs.routeSelectionExpression).toBe('$request.body.action');
  });

  it('has exactly one route per route-table entry and no other route', () => {
    const routes = p.ofType(ROUTE);
    expect(routes.map((r) => r.inputs.routeKey).sort()).toEqual(ROUTES.map((r) => r.routeKey).sort());
    for (const route of routes) expect(route.inputs.apiId).toBe(p.api().id);
  });

  it.each(ROUTES.map((r) => [r.routeKey, r] as const))(
    '%s: one AWS_PROXY integration to its handler, one route targeting it',
    (routeKey, entry) => {
      const fn = p.fn(entry.handler);
      const integrations = p
        .ofType(INTEGRATION)
        .filter((i) => i.inputs.integrationUri === fn.state.invokeArn);
      expect(integrations).toHaveLength(1);
      const integration = integrations[0]!;
      expect(integration.inputs).toMatchObject({
        apiId: p.api().id,
        integrationType: 'AWS_PROXY',
        integrationMethod: 'POST',
      });
      expect(integration.inputs.integrationUri).toMatch(
        /^arn:aws:apigateway:[a-z0-9-]+:lambda:path\/2015-03-31\/functions\/arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[^/]+\/invocations$/,
      );
      const routes = p.ofType(ROUTE).filter((r) => r.inputs.routeKey === routeKey);
      expect(routes).toHaveLength(1);
      expect(routes[0]!.inputs.target).toBe(`integrations/${integration.id}`);
    },
  );

  it('every integration is used by exactly one route', () => {
    const targets = p.ofType(ROUTE).map((r) => r.inputs.target);
    expect(p.ofType(INTEGRATION)).toHaveLength(ROUTES.length);
    for (const integration of p.ofType(INTEGRATION)) {
      expect(targets.filter((t) => t === `integrations/${integration.id}`)).toHaveLength(1);
    }
  });

  it.each(ROUTES.map((r) => [r.routeKey, r] as const))(
    '%s: one invoke permission scoped to this route of this stage',
    (routeKey, entry) => {
      const fn = p.fn(entry.handler);
      const expected = `${p.api().state.executionArn}/dev/${routeKey}`;
      const permissions = p.ofType(PERMISSION).filter((perm) => perm.inputs.sourceArn === expected);
      expect(permissions).toHaveLength(1);
      expect(permissions[0]!.inputs).toMatchObject({
        action: 'lambda:InvokeFunction',
        principal: 'apigateway.amazonaws.com',
        function: fn.state.name,
      });
      expect(expected).toMatch(/^arn:aws:execute-api:[a-z0-9-]+:\d{12}:[a-z0-9]+\/dev\/\S+$/);
    },
  );

  it('has no permission beyond the routes and the authorizer, none with a wildcard', () => {
    const permissions = p.ofType(PERMISSION);
    expect(permissions).toHaveLength(ROUTES.length + 1);
    for (const permission of permissions) expect(permission.inputs.sourceArn).not.toContain('*');
  });

  it('two-way routes select the $default route response, one-way routes have none', () => {
    for (const entry of ROUTES) {
      const route = p.ofType(ROUTE).find((r) => r.inputs.routeKey === entry.routeKey)!;
      const responses = p.ofType(ROUTE_RESPONSE).filter((r) => r.inputs.routeId === route.id);
      if (entry.twoWay) {
        expect(route.inputs.routeResponseSelectionExpression).toBe('$default');
        expect(responses).toHaveLength(1);
        expect(responses[0]!.inputs).toMatchObject({ apiId: p.api().id, routeResponseKey: '$default' });
      } else {
        expect(route.inputs.routeResponseSelectionExpression).toBeUndefined();
        expect(responses).toHaveLength(0);
      }
    }
    expect(p.ofType(ROUTE_RESPONSE)).toHaveLength(ROUTES.filter((r) => r.twoWay).length);
  });

  it('the REQUEST authorizer sits on $connect only, with the static identity source', () => {
    const authorizers = p.ofType(AUTHORIZER_TYPE);
    expect(authorizers).toHaveLength(1);
    const authorizer = authorizers[0]!;
    expect(authorizer.inputs).toMatchObject({
      apiId: p.api().id,
      authorizerType: 'REQUEST',
      authorizerUri: p.fn('authorizer').state.invokeArn,
      identitySources: ['route.request.header.Authorization'],
    });
    expect(authorizer.inputs.identitySources).toEqual([...AUTHORIZER.identitySources.static]);
    for (const route of p.ofType(ROUTE)) {
      if (route.inputs.routeKey === '$connect') {
        expect(route.inputs).toMatchObject({ authorizationType: 'CUSTOM', authorizerId: authorizer.id });
      } else {
        expect(route.inputs.authorizationType).toBe('NONE');
        expect(route.inputs.authorizerId).toBeUndefined();
      }
    }
    expect(ROUTES.filter((r) => r.authorized).map((r) => r.routeKey)).toEqual(['$connect']);
  });

  it('only API Gateway, through this authorizer, may invoke the authorizer function', () => {
    const authorizer = p.ofType(AUTHORIZER_TYPE)[0]!;
    const permission = p.one(PERMISSION, `${p.prefix}-authorizer-invoke`);
    expect(permission.inputs).toMatchObject({
      action: 'lambda:InvokeFunction',
      principal: 'apigateway.amazonaws.com',
      function: p.fn('authorizer').state.name,
      sourceArn: `${p.api().state.executionArn}/authorizers/${authorizer.id}`,
    });
  });

  it('has one function per handler: Node.js 22, arm64, index.handler, own role and log group', () => {
    expect(p.ofType(FUNCTION)).toHaveLength(HANDLER_NAMES.length);
    const roles = new Set<string>();
    for (const handler of HANDLER_NAMES) {
      const fn = p.fn(handler);
      expect(fn.inputs).toMatchObject({
        runtime: 'nodejs22.x',
        architectures: ['arm64'],
        handler: 'index.handler',
        memorySize: 256,
        timeout: 10,
      });
      const role = p.one('aws:iam/role:Role', `${p.prefix}-${handler}-role`);
      expect(fn.inputs.role).toBe(role.state.arn);
      roles.add(fn.inputs.role);
      const logGroup = p.one('aws:cloudwatch/logGroup:LogGroup', `${p.prefix}-${handler}-logs`);
      expect(fn.inputs.loggingConfig).toMatchObject({
        logFormat: 'JSON',
        logGroup: logGroup.state.name,
        applicationLogLevel: 'DEBUG',
      });
      expect(fn.inputs.code).toMatchObject({ __pulumiArchive: true });
    }
    expect(roles.size).toBe(HANDLER_NAMES.length);
  });

  it('gives each handler exactly the environment the contract says it reads', () => {
    const relayEnv = {
      TABLE_NAME: p.table().state.name,
      AUTH_MODE: 'static',
      MAPPING_TTL_SECONDS: '3600',
      INBOX_TTL_SECONDS: '300',
      CONNECTION_TTL_SECONDS: '7200',
      DEDUPE_TTL_SECONDS: '3600',
      REDELIVERY_DELAY_SECONDS: '30',
      INBOX_MAX_MESSAGES: '1000',
      INBOX_MAX_BYTES: '8388608',
      MAX_CONNECTIONS_PER_PEER: '10',
      ALLOWED_OPERATION_TYPES: '',
      TENANT_ISOLATION: 'off',
      MANAGEMENT_ENDPOINT: `https://${p.api().id}.execute-api.ap-southeast-1.amazonaws.com/dev`,
      POWERTOOLS_SERVICE_NAME: 'mpc-relay',
      POWERTOOLS_METRICS_NAMESPACE: 'MpcRelay',
      LOG_LEVEL: 'DEBUG',
    };
    // The relay handlers, as the contract lists them (every one that reads the table); with default
    // and the authorizer below, every handler's environment is checked.
    const relayHandlers = settingFor('TABLE_NAME').handlers;
    expect([...relayHandlers, 'default', 'authorizer'].sort()).toEqual([...HANDLER_NAMES].sort());
    for (const handler of relayHandlers) {
      expect(p.fn(handler).inputs.environment.variables, handler).toEqual(relayEnv);
    }
    // default only posts error frames; the authorizer only decides (static: no token settings).
    expect(p.fn('default').inputs.environment.variables).toEqual({
      MANAGEMENT_ENDPOINT: relayEnv.MANAGEMENT_ENDPOINT,
      POWERTOOLS_SERVICE_NAME: 'mpc-relay',
      POWERTOOLS_METRICS_NAMESPACE: 'MpcRelay',
      LOG_LEVEL: 'DEBUG',
    });
    expect(p.fn('authorizer').inputs.environment.variables).toEqual({
      AUTH_MODE: 'static',
      POWERTOOLS_SERVICE_NAME: 'mpc-relay',
      LOG_LEVEL: 'DEBUG',
    });
  });

  it('derives every variable from the handlers contract: set by the stack or the program, read by that handler', () => {
    for (const handler of HANDLER_NAMES) {
      const reads = new Map(settingsOf(handler).map((s) => [s.name, s.deploy.by]));
      for (const name of Object.keys(p.fn(handler).inputs.environment.variables)) {
        expect(reads.get(name), `${handler} gets ${name}`).toMatch(/^(stack|program)$/);
      }
      for (const [name, by] of reads) {
        if (by === 'stack' && !SETTINGS.find((s) => s.name === name && 'authMode' in s.deploy))
          expect(p.fn(handler).inputs.environment.variables, `${handler} misses ${name}`).toHaveProperty(
            name,
          );
      }
    }
  });

  it('broadcast is invoked directly: no route, no API permission', () => {
    const broadcast = p.fn('broadcast');
    expect(
      p.ofType(INTEGRATION).filter((i) => i.inputs.integrationUri === broadcast.state.invokeArn),
    ).toHaveLength(0);
    expect(p.ofType(PERMISSION).filter((perm) => perm.inputs.function === broadcast.state.name)).toHaveLength(
      0,
    );
  });

  it('deploys one auto-deployed, throttled stage (dev: no access logs)', () => {
    const stages = p.ofType('aws:apigatewayv2/stage:Stage');
    expect(stages).toHaveLength(1);
    expect(stages[0]!.inputs).toMatchObject({
      apiId: p.api().id,
      name: 'dev',
      autoDeploy: true,
      defaultRouteSettings: {
        throttlingBurstLimit: 500,
        throttlingRateLimit: 1000,
        dataTraceEnabled: false,
      },
    });
    expect(stages[0]!.inputs.accessLogSettings).toBeUndefined();
  });

  it('prod: JSON access logs that never carry tokens', async () => {
    const prod = await runProgram(prodConfig(), { stack: 'prod' });
    const stage = prod.ofType('aws:apigatewayv2/stage:Stage')[0]!;
    const accessLogs = prod.one('aws:cloudwatch/logGroup:LogGroup', `${prod.prefix}-access-logs`);
    expect(accessLogs.inputs.name).toBe('/mpc-relay-prod/api-access');
    expect(stage.inputs.accessLogSettings).toEqual({
      destinationArn: accessLogs.state.arn,
      format: ACCESS_LOG_FORMAT,
    });
    const format = JSON.parse(stage.inputs.accessLogSettings.format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      connectionId: '$context.connectionId',
    });
    for (const variable of Object.values(format)) {
      expect(variable).toMatch(/^\$context\.[A-Za-z.]+$/);
      expect(variable).not.toMatch(/querystring|header|body|token/i);
    }
  });

  it('exports the wss URL, the management endpoint, the table and every function name', async () => {
    const { resolve } = await import('./harness.js');
    const api = p.api();
    expect(await resolve(p.relay.url)).toBe(`${api.state.apiEndpoint}/dev`);
    expect(await resolve(p.relay.url)).toMatch(
      /^wss:\/\/[a-z0-9]+\.execute-api\.ap-southeast-1\.amazonaws\.com\/dev$/,
    );
    expect(await resolve(p.relay.managementEndpoint)).toBe(
      `https://${api.id}.execute-api.ap-southeast-1.amazonaws.com/dev`,
    );
    expect(await resolve(p.relay.tableName)).toBe(p.table().state.name);
    const names = await resolve(p.relay.functionNames);
    expect(Object.keys(names).sort()).toEqual([...HANDLER_NAMES].sort());
    for (const handler of HANDLER_NAMES) expect(names[handler]).toBe(p.fn(handler).state.name);
    expect(await resolve(p.relay.broadcastFunctionName)).toBe(p.fn('broadcast').state.name);
  });
});

describe('authorizer in jwt mode', () => {
  it('declares the jwt identity sources (the token may be in the header or the query string)', async () => {
    const p = await runProgram(
      { 'mpc-relay:authMode': 'jwt', 'mpc-relay:jwtJwksUrl': TEST_IDP['mpc-relay:jwtJwksUrl'] },
      { stack: 'jwt' },
    );
    const authorizer = p.ofType(AUTHORIZER_TYPE)[0]!;
    const sources: string[] = authorizer.inputs.identitySources ?? [];
    expect(sources).toEqual([...AUTHORIZER.identitySources.jwt]);
    expect(authorizer.inputs.authorizerUri).toBe(p.fn('authorizer').state.invokeArn);
    const connect = p.ofType(ROUTE).find((r) => r.inputs.routeKey === '$connect')!;
    expect(connect.inputs.authorizerId).toBe(authorizer.id);
  });
});

describe('function code', () => {
  it('is the FileArchive of the handler folder in the bundle directory', async () => {
    const { resolve: value } = await import('./harness.js');
    const p = await runProgram({}, { stack: 'code' });
    for (const handler of HANDLER_NAMES) {
      const code = (await value(p.relay.functions[handler].function.code)) as unknown as {
        path: Promise<string>;
      };
      expect(await code.path).toBe(path.join(stubBundles(), handler));
    }
  });
});
