import { HANDLER_NAMES } from '@mpc-relay/handlers/routes';
import type * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_DIR_ENV } from '../src/bundles.js';
import { installMocks, type MockResource, resolve, settle, stubBundles } from './harness.js';

describe('@mpc-relay/infra as a library', () => {
  it('package.json exports the component module; importing it declares nothing', async () => {
    const { resources } = await installMocks({}, { stack: 'lib' });
    // By package name, through package.json "exports" (the built dist), as another program would.
    const lib = await import('@mpc-relay/infra');
    expect(typeof lib.RelayComponent).toBe('function');
    expect(lib.RELAY_DEFAULTS.stageName).toBe('production');
    await settle();
    expect(resources).toEqual([]);
  });

  it('refuses arguments that could never deploy, before declaring anything', async () => {
    const { resources } = await installMocks({}, { stack: 'lib' });
    const { RelayComponent, RelayArgsError } = await import('@mpc-relay/infra');
    expect(() => new RelayComponent('bad', { bundleDir: stubBundles(), production: true })).toThrow(
      RelayArgsError,
    );
    expect(() => new RelayComponent('bad', { bundleDir: stubBundles(), accessLogs: true })).toThrow(
      /accessLogs needs apiGatewayCloudWatchRole/,
    );
    expect(() => new RelayComponent('bad', { bundleDir: stubBundles(), authMode: 'jwt' })).toThrow(
      /jwt needs jwt.secret or jwt.jwksUrl/,
    );
    await settle();
    // Only the component resources of the refused attempts (registered by super()) exist.
    expect(resources.filter((r) => r.type !== 'mpc-relay:index:Relay')).toEqual([]);
  });
});

describe('another Pulumi program using the component (examples/consumer.ts)', () => {
  let resources: MockResource[];
  let outputs: Map<string, Record<string, unknown>>;
  // biome-ignore lint/suspicious/noExplicitAny: the program's exports are outputs of several types
  let program: Record<string, pulumi.Output<any> | undefined>;
  const byType = (type: string) => resources.filter((r) => r.type === type);
  beforeAll(async () => {
    process.env[BUNDLE_DIR_ENV] = stubBundles();
    ({ resources, outputs } = await installMocks(
      {
        'mpc-relay-consumer:jwksUrl': 'https://login.acme-signing.io/.well-known/jwks.json',
        'mpc-relay-consumer:issuer': 'https://login.acme-signing.io/',
        'mpc-relay-consumer:domain': 'relay.payments.acme-signing.io',
        'mpc-relay-consumer:pagerWebhook': 'https://pager.acme-signing.io/hooks/relay',
      },
      { stack: 'staging', project: 'mpc-relay-consumer' },
    ));
    program = await import('../examples/consumer.js');
    await resolve(program.relayUrl!);
    await settle();
  });

  it('builds the whole relay under its own names, with the documented defaults', async () => {
    const fns = byType('aws:lambda/function:Function');
    expect(fns.map((f) => f.inputs.name).sort()).toEqual(
      HANDLER_NAMES.map((h) => `signing-relay-staging-${h}`).sort(),
    );
    const stage = byType('aws:apigatewayv2/stage:Stage')[0]!;
    expect(stage.inputs.name).toBe('production');
    expect(await resolve(program.relayUrl!)).toMatch(
      /^wss:\/\/[a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com\/production$/,
    );
    for (const fn of fns) {
      expect(fn.inputs.memorySize).toBe(512);
      expect(fn.inputs.tags).toMatchObject({ team: 'payments', project: 'mpc-relay', stack: 'staging' });
    }
  });

  it("takes pulumi.Input arguments: the program's own certificate ARN reaches the domain", async () => {
    const certificate = resources.find((r) => r.type === 'aws:acm/certificate:Certificate')!;
    const domain = byType('aws:apigatewayv2/domainName:DomainName')[0]!;
    expect(domain.inputs.domainNameConfiguration.certificateArn).toBe(certificate.state.arn);
    expect(certificate.state.arn).toMatch(/^arn:aws:acm:/);
    expect(await resolve(program.relayDomainUrl!)).toBe('wss://relay.payments.acme-signing.io');
    const env = byType('aws:lambda/function:Function').find((f) => f.inputs.name.endsWith('-authorizer'))!
      .inputs.environment.variables;
    expect(env).toMatchObject({
      JWT_JWKS_URL: 'https://login.acme-signing.io/.well-known/jwks.json',
      JWT_AUDIENCE: 'signing-relay',
    });
    const sendServer = byType('aws:lambda/function:Function').find((f) =>
      f.inputs.name.endsWith('-sendServer'),
    )!;
    expect(sendServer.inputs.environment.variables.INBOX_TTL_SECONDS).toBe('600');
  });

  it('production defaults apply (PITR, deletion protection, alarms with its threshold) and its outputs are registered', async () => {
    const table = byType('aws:dynamodb/table:Table')[0]!;
    expect(table.inputs).toMatchObject({
      pointInTimeRecovery: { enabled: true },
      deletionProtectionEnabled: true,
    });
    const alarm = byType('aws:cloudwatch/metricAlarm:MetricAlarm').find((a) =>
      a.inputs.name.endsWith('sendServer-error-rate'),
    )!;
    expect(alarm.inputs.threshold).toBe(2);
    const topic = byType('aws:sns/topic:Topic')[0]!;
    const pager = resources.find((r) => r.type === 'aws:sns/topicSubscription:TopicSubscription')!;
    expect(pager.inputs).toMatchObject({ topic: topic.state.arn, protocol: 'https' });
    expect(byType('aws:apigateway/account:Account')).toHaveLength(0);
    const registered = outputs.get('signing-relay-staging')!;
    expect(Object.keys(registered).sort()).toEqual(
      [
        'alarmTopicArn',
        'apiId',
        'broadcastFunctionName',
        'customDomainTarget',
        'customDomainUrl',
        'functionNames',
        'jwtSecretParameterName',
        'managementEndpoint',
        'stageName',
        'tableArn',
        'tableName',
        'url',
      ].filter((key) => key !== 'jwtSecretParameterName'),
    );
    expect(registered.url).toBe(await resolve(program.relayUrl!));
  });
});
