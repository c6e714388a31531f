import { HANDLER_NAMES } from '@mpc-relay/handlers/routes';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Program, prodConfig, readStackConfig, resolve, runProgram, TEST_IDP } from './harness.js';

const LOG_GROUP = 'aws:cloudwatch/logGroup:LogGroup';
const ALARM = 'aws:cloudwatch/metricAlarm:MetricAlarm';
const STAGE = 'aws:apigatewayv2/stage:Stage';

describe('the stack examples (Pulumi.dev.yaml vs Pulumi.prod.yaml)', () => {
  let dev: Program;
  let prod: Program;
  beforeAll(async () => {
    dev = await runProgram(readStackConfig('dev'), { stack: 'dev' });
    prod = await runProgram(prodConfig(), { stack: 'prod' });
  });

  it('hold plain values in the mpc-relay namespace (plus the AWS region)', () => {
    for (const stack of ['dev', 'prod']) {
      for (const key of Object.keys(readStackConfig(stack)))
        expect(key).toMatch(/^(mpc-relay:[A-Za-z]+|aws:region)$/);
    }
  });

  it('both build the same table design: on demand, pk/sk, GSI byType, TTL on expiresAt, encrypted', () => {
    for (const p of [dev, prod]) {
      expect(p.table().inputs).toMatchObject({
        billingMode: 'PAY_PER_REQUEST',
        hashKey: 'pk',
        rangeKey: 'sk',
        attributes: [
          { name: 'pk', type: 'S' },
          { name: 'sk', type: 'S' },
          { name: 'gsi1pk', type: 'S' },
          { name: 'gsi1sk', type: 'S' },
        ],
        globalSecondaryIndexes: [
          {
            name: 'byType',
            keySchemas: [
              { attributeName: 'gsi1pk', keyType: 'HASH' },
              { attributeName: 'gsi1sk', keyType: 'RANGE' },
            ],
            projectionType: 'ALL',
          },
        ],
        ttl: { attributeName: 'expiresAt', enabled: true },
        serverSideEncryption: { enabled: true },
      });
      expect(p.ofType('aws:dynamodb/table:Table')).toHaveLength(1);
    }
  });

  it('dev: no PITR, no deletion protection; prod: both', () => {
    expect(dev.table().inputs).toMatchObject({
      pointInTimeRecovery: { enabled: false },
      deletionProtectionEnabled: false,
    });
    expect(prod.table().inputs).toMatchObject({
      pointInTimeRecovery: { enabled: true },
      deletionProtectionEnabled: true,
    });
  });

  it('dev: static auth; prod: jwt (production refuses static)', () => {
    expect(dev.fn('connect').inputs.environment.variables.AUTH_MODE).toBe('static');
    expect(prod.fn('connect').inputs.environment.variables.AUTH_MODE).toBe('jwt');
    expect(prod.relay.functions.authorizer).toBeDefined();
    const prodAuth = prod.fn('authorizer').inputs.environment.variables;
    expect(prodAuth).toMatchObject({
      AUTH_MODE: 'jwt',
      JWT_JWKS_URL: TEST_IDP['mpc-relay:jwtJwksUrl'],
      JWT_AUDIENCE: 'mpc-relay',
      JWT_ISSUER: TEST_IDP['mpc-relay:jwtIssuer'],
      JWT_ALGORITHMS: 'RS256,ES256,EdDSA',
      JWT_CLOCK_SKEW_SECONDS: '30',
    });
    expect(dev.fn('authorizer').inputs.environment.variables).not.toHaveProperty('JWT_ALGORITHMS');
  });

  it('dev: short log retention; prod: 90 days, on every function and the access logs', () => {
    expect(dev.ofType(LOG_GROUP)).toHaveLength(HANDLER_NAMES.length);
    expect(prod.ofType(LOG_GROUP)).toHaveLength(HANDLER_NAMES.length + 1);
    for (const group of dev.ofType(LOG_GROUP)) expect(group.inputs.retentionInDays).toBe(3);
    for (const group of prod.ofType(LOG_GROUP)) expect(group.inputs.retentionInDays).toBe(90);
  });

  it('prod throttles are stricter than dev and per-route metrics are on', () => {
    const devRoutes = dev.ofType(STAGE)[0]!.inputs.defaultRouteSettings;
    const prodRoutes = prod.ofType(STAGE)[0]!.inputs.defaultRouteSettings;
    expect(devRoutes).toMatchObject({
      throttlingBurstLimit: 500,
      throttlingRateLimit: 1000,
      detailedMetricsEnabled: false,
    });
    expect(prodRoutes).toMatchObject({
      throttlingBurstLimit: 200,
      throttlingRateLimit: 100,
      detailedMetricsEnabled: true,
    });
    expect(prodRoutes.throttlingBurstLimit).toBeLessThan(devRoutes.throttlingBurstLimit);
    expect(prodRoutes.throttlingRateLimit).toBeLessThan(devRoutes.throttlingRateLimit);
  });

  it('prod sizes functions up and logs at INFO', () => {
    for (const handler of HANDLER_NAMES) {
      expect(prod.fn(handler).inputs).toMatchObject({ memorySize: 512, architectures: ['arm64'] });
      expect(prod.fn(handler).inputs.environment.variables.LOG_LEVEL).toBe('INFO');
    }
  });

  it('dev has no alarms and no topic', () => {
    expect(dev.ofType(ALARM)).toHaveLength(0);
    expect(dev.ofType('aws:sns/topic:Topic')).toHaveLength(0);
    expect(dev.relay.alarmTopicArn).toBeUndefined();
  });

  it('no custom domain unless configured', () => {
    expect(dev.ofType('aws:apigatewayv2/domainName:DomainName')).toHaveLength(0);
    expect(prod.ofType('aws:apigatewayv2/apiMapping:ApiMapping')).toHaveLength(0);
    expect(prod.relay.customDomainUrl).toBeUndefined();
  });
});

describe('optional features', () => {
  it('a custom domain maps the stage and can create the Route 53 alias', async () => {
    const p = await runProgram(
      {
        ...readStackConfig('dev'),
        'mpc-relay:domainName': 'relay.example.com',
        'mpc-relay:certificateArn':
          'arn:aws:acm:ap-southeast-1:123456789012:certificate/1f2e3d4c-0000-1111-2222-333344445555',
        'mpc-relay:hostedZoneId': 'Z0123456789ABCDEFGHIJ',
      },
      { stack: 'dev' },
    );
    const domain = p.one('aws:apigatewayv2/domainName:DomainName', `${p.prefix}-domain`);
    expect(domain.inputs).toEqual(
      expect.objectContaining({
        domainName: 'relay.example.com',
        domainNameConfiguration: {
          certificateArn:
            'arn:aws:acm:ap-southeast-1:123456789012:certificate/1f2e3d4c-0000-1111-2222-333344445555',
          endpointType: 'REGIONAL',
          securityPolicy: 'TLS_1_2',
        },
      }),
    );
    const mapping = p.one('aws:apigatewayv2/apiMapping:ApiMapping', `${p.prefix}-domain-mapping`);
    expect(mapping.inputs).toEqual({ apiId: p.api().id, domainName: domain.id, stage: 'dev' });
    const record = p.one('aws:route53/record:Record', `${p.prefix}-domain-record`);
    expect(record.inputs).toMatchObject({
      zoneId: 'Z0123456789ABCDEFGHIJ',
      name: 'relay.example.com',
      type: 'A',
      aliases: [
        {
          name: domain.state.domainNameConfiguration.targetDomainName,
          zoneId: domain.state.domainNameConfiguration.hostedZoneId,
          evaluateTargetHealth: false,
        },
      ],
    });
    expect(await resolve(p.relay.customDomainUrl!)).toBe('wss://relay.example.com');
    // Posts go to the execute-api endpoint, which works whatever the domain mapping.
    expect(p.fn('sendServer').inputs.environment.variables.MANAGEMENT_ENDPOINT).toBe(
      `https://${p.api().id}.execute-api.ap-southeast-1.amazonaws.com/dev`,
    );
  });

  it('alarm e-mails subscribe to the topic', async () => {
    const p = await runProgram(prodConfig({ 'mpc-relay:alarmEmail': 'oncall@example.com' }), {
      stack: 'prod',
    });
    const subscription = p.one('aws:sns/topicSubscription:TopicSubscription', `${p.prefix}-alarms-email`);
    expect(subscription.inputs).toEqual({
      topic: p.ofType('aws:sns/topic:Topic')[0]!.state.arn,
      protocol: 'email',
      endpoint: 'oncall@example.com',
    });
  });

  it('stage name, TTLs, operation types, tenant isolation and architecture flow from config', async () => {
    const p = await runProgram(
      {
        'mpc-relay:stageName': 'live',
        'mpc-relay:mappingTtlSeconds': '600',
        'mpc-relay:inboxTtlSeconds': '60',
        'mpc-relay:connectionTtlSeconds': '3600',
        'mpc-relay:allowedOperationTypes': 'PartialSig, FullSig',
        'mpc-relay:tenantIsolation': 'true',
        'mpc-relay:authMode': 'jwt',
        'mpc-relay:jwtJwksUrl': TEST_IDP['mpc-relay:jwtJwksUrl'],
        'mpc-relay:lambdaArchitecture': 'x86_64',
      },
      { stack: 'custom' },
    );
    const env = p.fn('sendServer').inputs.environment.variables;
    expect(env).toMatchObject({
      MAPPING_TTL_SECONDS: '600',
      INBOX_TTL_SECONDS: '60',
      CONNECTION_TTL_SECONDS: '3600',
      ALLOWED_OPERATION_TYPES: 'PartialSig,FullSig',
      TENANT_ISOLATION: 'on',
      MANAGEMENT_ENDPOINT: `https://${p.api().id}.execute-api.ap-southeast-1.amazonaws.com/live`,
    });
    expect(p.fn('sendServer').inputs.architectures).toEqual(['x86_64']);
    expect(await resolve(p.relay.url)).toMatch(/\/live$/);
    for (const perm of p.ofType('aws:lambda/permission:Permission')) {
      if (!perm.name.endsWith('authorizer-invoke')) expect(perm.inputs.sourceArn).toContain('/live/');
    }
    const policy = p.policy('sendServer');
    const manage = policy.Statement.find((s) => s.Sid === 'ManageConnections')!;
    // POST: deliveries; DELETE: closing a connection whose token expired (jwt mode).
    expect(manage.Resource).toEqual([
      `${p.api().state.executionArn}/live/DELETE/@connections/*`,
      `${p.api().state.executionArn}/live/POST/@connections/*`,
    ]);
  });
});
