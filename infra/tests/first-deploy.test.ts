import { HANDLER_NAMES } from '@mpc-relay/handlers/routes';
import { describe, expect, it } from 'vitest';
import { isPlaceholder } from '../src/config.js';
import { MAX_STACK_NAME_LENGTH, NAME_LIMITS, physicalName } from '../src/names.js';
import { type MockResource, prodConfig, readStackConfig, runProgram } from './harness.js';

const ACCOUNT = 'aws:apigateway/account:Account';
const ROLE = 'aws:iam/role:Role';
const ATTACHMENT = 'aws:iam/rolePolicyAttachment:RolePolicyAttachment';
const STAGE = 'aws:apigatewayv2/stage:Stage';
const LOG_GROUP = 'aws:cloudwatch/logGroup:LogGroup';

describe('access logs and the region-wide API Gateway CloudWatch role', () => {
  it('a fresh account deploys the defaults: no access logs, no account setting, nothing to depend on', async () => {
    const p = await runProgram({}, { stack: 'fresh' });
    const stage = p.ofType(STAGE)[0]!;
    expect(stage.inputs.accessLogSettings).toBeUndefined();
    expect(p.ofType(ACCOUNT)).toHaveLength(0);
    expect(p.ofType(ATTACHMENT)).toHaveLength(0);
    expect(p.ofType(ROLE).map((r) => r.name)).not.toContain(`${p.prefix}-apigateway-cloudwatch-role`);
    expect(stage.options.dependsOn.some((name) => name.includes('apigateway'))).toBe(false);
    expect(p.ofType(LOG_GROUP).map((g) => g.name)).not.toContain(`${p.prefix}-access-logs`);
  });

  it('the dev example deploys on a fresh account too', async () => {
    const p = await runProgram(readStackConfig('dev'), { stack: 'dev' });
    expect(p.ofType(STAGE)[0]!.inputs.accessLogSettings).toBeUndefined();
    expect(p.ofType(ACCOUNT)).toHaveLength(0);
  });

  it('access logs without a known role are refused before anything is declared, with the way out', async () => {
    const attempt = runProgram({ 'mpc-relay:accessLogs': 'true' }, { stack: 'logs' });
    await expect(attempt).rejects.toThrow(
      /mpc-relay:accessLogs: needs the region's API Gateway CloudWatch role[\s\S]*aws apigateway get-account[\s\S]*'existing'[\s\S]*'managed'/,
    );
  });

  it('a production stack gets access logs by default, so it must say where the role comes from', async () => {
    await expect(
      runProgram(prodConfig({ 'mpc-relay:apiGatewayCloudWatchRole': '' }), { stack: 'prod' }),
    ).rejects.toThrow(/mpc-relay:accessLogs: needs the region's API Gateway CloudWatch role/);
  });

  it("'managed': role, policy attachment and account setting are kept on destroy; the stage waits for them", async () => {
    const p = await runProgram(
      { 'mpc-relay:accessLogs': 'true', 'mpc-relay:apiGatewayCloudWatchRole': 'managed' },
      { stack: 'acct' },
    );
    const role = p.one(ROLE, `${p.prefix}-apigateway-cloudwatch-role`);
    const attachment = p.one(ATTACHMENT, `${p.prefix}-apigateway-cloudwatch-policy`);
    const account = p.one(ACCOUNT, `${p.prefix}-apigateway-account`);
    expect(JSON.parse(role.inputs.assumeRolePolicy).Statement).toEqual([
      {
        Sid: 'AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'apigateway.amazonaws.com' },
        Action: ['sts:AssumeRole'],
      },
    ]);
    expect(attachment.inputs).toEqual({
      role: role.state.name,
      policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
    });
    expect(account.inputs).toEqual({ cloudwatchRoleArn: role.state.arn });
    for (const kept of [role, attachment, account]) expect(kept.options.retainOnDelete).toBe(true);
    // Nothing else of the stack is retained: destroy removes the relay itself.
    const retained = p.resources.filter((r) => r.options.retainOnDelete).map((r) => r.name);
    expect(retained.sort()).toEqual([role.name, attachment.name, account.name].sort());
    expect(account.options.dependsOn).toContain(attachment.name);
    const stage = p.ofType(STAGE)[0]!;
    expect(stage.options.dependsOn).toContain(account.name);
    expect(stage.inputs.accessLogSettings.destinationArn).toBe(
      p.one(LOG_GROUP, `${p.prefix}-access-logs`).state.arn,
    );
  });

  it("'managed' without access logs only sets the role (a bootstrap stack for the region)", async () => {
    const p = await runProgram({ 'mpc-relay:apiGatewayCloudWatchRole': 'managed' }, { stack: 'boot' });
    expect(p.ofType(ACCOUNT)).toHaveLength(1);
    expect(p.ofType(STAGE)[0]!.inputs.accessLogSettings).toBeUndefined();
  });

  it("'existing': access logs on, and the account setting is left alone", async () => {
    const p = await runProgram(
      { 'mpc-relay:accessLogs': 'true', 'mpc-relay:apiGatewayCloudWatchRole': 'existing' },
      { stack: 'exist' },
    );
    expect(p.ofType(ACCOUNT)).toHaveLength(0);
    expect(p.ofType(ATTACHMENT)).toHaveLength(0);
    expect(p.ofType(STAGE)[0]!.inputs.accessLogSettings).toBeDefined();
  });

  it('the old manageApiGatewayAccount key is refused with its replacement named', async () => {
    await expect(
      runProgram({ 'mpc-relay:manageApiGatewayAccount': 'true' }, { stack: 'old' }),
    ).rejects.toThrow(
      /mpc-relay:manageApiGatewayAccount: replaced by mpc-relay:apiGatewayCloudWatchRole 'managed'/,
    );
  });
});

describe('no placeholder reaches AWS', () => {
  it('Pulumi.prod.yaml as shipped is refused with one message naming both example values', async () => {
    let error: unknown;
    try {
      await runProgram(readStackConfig('prod'), { stack: 'prod' });
    } catch (caught) {
      error = caught;
    }
    const problems = (error as { problems?: string[] }).problems ?? [];
    const placeholder = problems.filter((problem) => problem.includes('example value'));
    expect(placeholder).toHaveLength(1);
    expect(placeholder[0]).toMatch(
      /^mpc-relay:jwtJwksUrl: mpc-relay:jwtJwksUrl, mpc-relay:jwtIssuer still hold an example value \(https:\/\/auth\.example\.com\/\.well-known\/jwks\.json, https:\/\/auth\.example\.com\/\): every handshake would be refused\. Set your identity provider's values, e\.g\. pulumi config set mpc-relay:jwtJwksUrl/,
    );
    expect(problems).toHaveLength(1);
  });

  it('with the team identity provider the prod example deploys', async () => {
    const p = await runProgram(prodConfig(), { stack: 'prod' });
    expect(p.fn('authorizer').inputs.environment.variables.JWT_ISSUER).toBe('https://login.acme-signing.io/');
  });

  it('a production jwt stack requires an issuer and an audience', async () => {
    await expect(
      runProgram(prodConfig({ 'mpc-relay:jwtIssuer': '', 'mpc-relay:jwtAudience': '' }), { stack: 'prod' }),
    ).rejects.toThrow(
      /mpc-relay:jwtIssuer: is required on a production stack[\s\S]*mpc-relay:jwtAudience: is required on a production stack/,
    );
  });

  it.each([
    ['https://auth.example.com/.well-known/jwks.json', true],
    ['https://example.org/', true],
    ['https://idp.example/', true],
    ['https://login.test/', true],
    ['https://sso.invalid/jwks', true],
    ['http://localhost:8080/', true],
    ['issuer.example.net', true],
    ['https://login.acme-signing.io/', false],
    ['https://example.com.evil.io/', false],
    ['https://notexample.com/', false],
    ['mpc-relay', false],
  ])('%s is a placeholder: %s', (value, expected) => {
    expect(isPlaceholder(value)).toBe(expected);
  });
});

describe('names that always fit', () => {
  const LIMIT_BY_TYPE: Record<string, [string, number, RegExp]> = {
    'aws:iam/role:Role': ['name', NAME_LIMITS.iamRole, /^[\w+=,.@-]+$/],
    'aws:iam/rolePolicy:RolePolicy': ['name', NAME_LIMITS.iamRolePolicy, /^[\w+=,.@-]+$/],
    'aws:lambda/function:Function': ['name', NAME_LIMITS.lambdaFunction, /^[A-Za-z0-9_-]+$/],
    'aws:lambda/permission:Permission': ['statementId', NAME_LIMITS.lambdaStatementId, /^[A-Za-z0-9_-]+$/],
    'aws:apigatewayv2/api:Api': ['name', NAME_LIMITS.apiGatewayApi, /^\S+$/],
    'aws:apigatewayv2/authorizer:Authorizer': ['name', NAME_LIMITS.apiGatewayAuthorizer, /^\S+$/],
    'aws:dynamodb/table:Table': ['name', NAME_LIMITS.dynamodbTable, /^[A-Za-z0-9_.-]+$/],
    'aws:sns/topic:Topic': ['name', NAME_LIMITS.snsTopic, /^[A-Za-z0-9_-]+$/],
    'aws:cloudwatch/metricAlarm:MetricAlarm': ['name', NAME_LIMITS.cloudwatchAlarm, /^\S+$/],
    'aws:cloudwatch/logMetricFilter:LogMetricFilter': ['name', NAME_LIMITS.logMetricFilter, /^[^:*]+$/],
    'aws:cloudwatch/logGroup:LogGroup': ['name', NAME_LIMITS.logGroup, /^[A-Za-z0-9_.\-/#]+$/],
    'aws:ssm/parameter:Parameter': ['name', 1011, /^[A-Za-z0-9_.\-/]+$/],
  };

  function checkNames(resources: MockResource[]): void {
    const seen = new Map<string, string[]>();
    for (const resource of resources) {
      const rule = LIMIT_BY_TYPE[resource.type];
      if (rule === undefined) continue;
      const [field, limit, pattern] = rule;
      const value = resource.inputs[field] as string | undefined;
      expect(value, `${resource.type} ${resource.name} has an explicit ${field}`).toBeTypeOf('string');
      expect(value!.length, `${resource.type} ${field} ${value}`).toBeLessThanOrEqual(limit);
      expect(value, `${resource.type} ${field}`).toMatch(pattern);
      seen.set(resource.type, [...(seen.get(resource.type) ?? []), value!]);
    }
    for (const [type, values] of seen) {
      if (type === 'aws:lambda/permission:Permission') continue; // unique per function, not per account
      expect(new Set(values).size, `${type} names are distinct`).toBe(values.length);
    }
  }

  it(`a ${MAX_STACK_NAME_LENGTH}-character stack name (with dots, which Lambda and SNS refuse) still fits everywhere`, async () => {
    const stack = `team.payments-${'x'.repeat(MAX_STACK_NAME_LENGTH - 'team.payments-'.length - 4)}.eu1`;
    expect(stack).toHaveLength(MAX_STACK_NAME_LENGTH);
    const p = await runProgram(
      prodConfig({ 'mpc-relay:jwtSecret': 's'.repeat(48), 'mpc-relay:jwtAlgorithms': 'HS256,RS256' }),
      { stack, secretKeys: ['mpc-relay:jwtSecret'] },
    );
    expect(p.ofType('aws:cloudwatch/metricAlarm:MetricAlarm').length).toBeGreaterThan(0);
    expect(p.ofType('aws:ssm/parameter:Parameter')).toHaveLength(1);
    checkNames(p.resources);
    // Long names keep what tells them apart: the handler stays at the end.
    for (const handler of HANDLER_NAMES)
      expect(p.fn(handler).inputs.name).toMatch(new RegExp(`-${handler}$`));
  });

  it('a short stack keeps readable, deterministic names', async () => {
    const p = await runProgram(readStackConfig('dev'), { stack: 'dev' });
    checkNames(p.resources);
    expect(p.fn('broadcast').inputs.name).toBe('mpc-relay-dev-broadcast');
    expect(p.one('aws:iam/role:Role', `${p.prefix}-getConnectionId-role`).inputs.name).toBe(
      'mpc-relay-dev-getConnectionId',
    );
    expect(p.table().inputs.name).toBe('mpc-relay-dev-relay');
  });

  it('physicalName: exactly at the limit unchanged, one over shortened with a hash, suffix kept', () => {
    const prefix = 'p'.repeat(60);
    expect(physicalName(prefix, 'abc', 64)).toBe(`${prefix}-abc`);
    const over = physicalName(`${prefix}q`, 'abc', 64);
    expect(over).toHaveLength(64);
    expect(over).toMatch(/^p+-[0-9a-f]{8}-abc$/);
    expect(physicalName(`${prefix}r`, 'abc', 64)).not.toBe(over);
    expect(physicalName('a.b c', 'x', 64)).toBe('a-b-c-x');
  });
});
