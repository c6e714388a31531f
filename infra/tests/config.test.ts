import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_KEYS,
  type ConfigSource,
  parseRelayConfig,
  type RelayConfig,
  RelayConfigError,
  settingKeysTable,
} from '../src/config.js';
import { prodConfig, runProgram } from './harness.js';

function source(values: Record<string, string>): ConfigSource {
  return {
    get: (key) => values[key],
    getSecret: (key) => (values[key] === undefined ? undefined : pulumi.secret(values[key]!)),
    keys: () => Object.keys(values),
  };
}

const parse = (values: Record<string, string>): RelayConfig => parseRelayConfig('test', source(values));

function problemsOf(values: Record<string, string>): string[] {
  try {
    parse(values);
  } catch (error) {
    expect(error).toBeInstanceOf(RelayConfigError);
    return [...(error as RelayConfigError).problems];
  }
  throw new Error('expected the configuration to be refused');
}

describe('config defaults', () => {
  it('an empty stack is a static, development relay with the documented defaults', () => {
    expect(parse({})).toEqual({
      stack: 'test',
      production: false,
      authMode: 'static',
      allowStaticAuthInProduction: false,
      stageName: 'production',
      mappingTtlSeconds: 3600,
      inboxTtlSeconds: 300,
      connectionTtlSeconds: 7200,
      dedupeTtlSeconds: 3600,
      redeliveryDelaySeconds: 30,
      inboxMaxMessages: 1000,
      inboxMaxBytes: 8388608,
      maxConnectionsPerPeer: 10,
      allowedOperationTypes: [],
      tenantIsolation: false,
      logLevel: 'INFO',
      architecture: 'arm64',
      memoryMb: 256,
      timeoutSeconds: 10,
      logRetentionDays: 14,
      throttleBurstLimit: 500,
      throttleRateLimit: 1000,
      detailedMetrics: false,
      pointInTimeRecovery: false,
      deletionProtection: false,
      alarms: false,
      accessLogs: false,
      alarmThresholds: {
        errorRatePercent: 5,
        minRequests: 20,
        authorizerFailures: 1,
        tableThrottleEvents: 25,
      },
    });
  });

  it('production turns on PITR, deletion protection, alarms, detailed metrics and 90-day logs', () => {
    const config = parse({
      production: 'true',
      authMode: 'jwt',
      jwtJwksUrl: 'https://idp.acme-signing.io/jwks',
      jwtIssuer: 'https://idp.acme-signing.io/',
      jwtAudience: 'mpc-relay',
      apiGatewayCloudWatchRole: 'existing',
    });
    expect(config).toMatchObject({
      accessLogs: true,
      apiGatewayCloudWatchRole: 'existing',
      pointInTimeRecovery: true,
      deletionProtection: true,
      alarms: true,
      detailedMetrics: true,
      logRetentionDays: 90,
    });
    expect(config.jwt).toMatchObject({
      jwksUrl: 'https://idp.acme-signing.io/jwks',
      algorithms: ['RS256', 'ES256', 'EdDSA'],
    });
  });

  it('jwt with a secret defaults to HS256', () => {
    expect(parse({ authMode: 'jwt', jwtSecret: 's'.repeat(40) }).jwt?.algorithms).toEqual(['HS256']);
  });

  it('allows static on production only with the explicit override', () => {
    expect(
      parse({ production: 'true', allowStaticAuthInProduction: 'true', accessLogs: 'false' }).authMode,
    ).toBe('static');
  });

  it("the README's handler-setting table is the one generated from the handlers' contract", () => {
    const readme = readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const block = /<!-- setting-keys:start[^>]*-->\n([\s\S]*?)\n<!-- setting-keys:end -->/.exec(readme)?.[1];
    expect(block).toBe(settingKeysTable());
  });

  it('DEDUPE_TTL_SECONDS, REDELIVERY_DELAY_SECONDS and the jwt cache settings are settable per stack', () => {
    const config = parse({
      dedupeTtlSeconds: '600',
      redeliveryDelaySeconds: '0',
      authMode: 'jwt',
      jwtJwksUrl: 'https://idp.acme-signing.io/jwks',
      jwtJwksCooldownSeconds: '120',
      jwtSecretMaxAgeSeconds: '60',
    });
    expect(config).toMatchObject({
      dedupeTtlSeconds: 600,
      redeliveryDelaySeconds: 0,
      jwtJwksCooldownSeconds: 120,
      jwtSecretMaxAgeSeconds: 60,
      jwtClockSkewSeconds: 30,
    });
    expect(problemsOf({ jwtJwksCooldownSeconds: '60' })).toEqual([
      "mpc-relay:jwtJwksCooldownSeconds: only used with mpc-relay:authMode 'jwt'",
    ]);
    expect(problemsOf({ redeliveryDelaySeconds: '-1' })[0]).toMatch(
      /mpc-relay:redeliveryDelaySeconds: expected an integer from 0 to 86400/,
    );
  });

  it('the README documents every key', () => {
    const readme = readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8');
    for (const doc of CONFIG_KEYS) expect(readme).toContain(`\`mpc-relay:${doc.key}\``);
  });
});

describe('bad config fails with a message naming the key', () => {
  it.each([
    [{ authMode: 'oauth' }, /mpc-relay:authMode: expected one of static, jwt, got 'oauth'/],
    [{ mappingTtlSeconds: '-5' }, /mpc-relay:mappingTtlSeconds: expected an integer from 1 to \d+, got '-5'/],
    [{ inboxTtlSeconds: '0' }, /mpc-relay:inboxTtlSeconds: expected an integer/],
    [{ connectionTtlSeconds: '9000' }, /mpc-relay:connectionTtlSeconds: expected an integer from 1 to 7200/],
    [
      { lambdaMemoryMb: 'lots' },
      /mpc-relay:lambdaMemoryMb: expected an integer from 128 to 10240, got 'lots'/,
    ],
    [{ lambdaMemoryMb: '512.5' }, /mpc-relay:lambdaMemoryMb: expected an integer/],
    [{ lambdaTimeoutSeconds: '60' }, /mpc-relay:lambdaTimeoutSeconds: expected an integer from 1 to 29/],
    [{ logRetentionDays: '10' }, /mpc-relay:logRetentionDays: expected one of 1, 3, 5, 7, 14/],
    [{ throttleRateLimit: 'fast' }, /mpc-relay:throttleRateLimit: expected a number above 0/],
    [{ throttleBurstLimit: '-1' }, /mpc-relay:throttleBurstLimit: expected an integer from 1 to 5000/],
    [{ lambdaArchitecture: 'arm' }, /mpc-relay:lambdaArchitecture: expected one of arm64, x86_64, got 'arm'/],
    [{ alarms: 'yes' }, /mpc-relay:alarms: expected true or false, got 'yes'/],
    [{ stageName: 'prod stage' }, /mpc-relay:stageName: expected letters, digits/],
    [
      { production: 'true' },
      /mpc-relay:authMode: 'static' accepts any caller and is refused on a production stack/,
    ],
    [{ authMode: 'jwt' }, /mpc-relay:jwtSecret: jwt auth needs a key/],
    [
      { authMode: 'jwt', jwtJwksUrl: 'http://idp.example.com/jwks' },
      /mpc-relay:jwtJwksUrl: expected an https:\/\/ URL/,
    ],
    [
      { authMode: 'jwt', jwtJwksUrl: 'https://idp.example.com/jwks', jwtAlgorithms: 'none' },
      /mpc-relay:jwtAlgorithms: 'none' is not allowed/,
    ],
    [
      { authMode: 'jwt', jwtJwksUrl: 'https://idp.example.com/jwks', jwtAlgorithms: 'HS256' },
      /mpc-relay:jwtAlgorithms: HS\* algorithms need mpc-relay:jwtSecret/,
    ],
    [
      { authMode: 'jwt', jwtSecret: 'x'.repeat(40), jwtAlgorithms: 'RS256' },
      /mpc-relay:jwtSecret: is set but mpc-relay:jwtAlgorithms lists no HS\* algorithm/,
    ],
    [
      { jwtIssuer: 'https://idp.example.com/' },
      /mpc-relay:jwtIssuer: only used with mpc-relay:authMode 'jwt'/,
    ],
    [{ tenantIsolation: 'true' }, /mpc-relay:tenantIsolation: needs mpc-relay:authMode 'jwt'/],
    [
      { domainName: 'relay.example.com' },
      /mpc-relay:certificateArn: mpc-relay:domainName and mpc-relay:certificateArn go together/,
    ],
    [
      { certificateArn: 'arn:aws:iam::123456789012:role/x' },
      /mpc-relay:certificateArn: expected an ACM certificate ARN/,
    ],
    [{ alarmEmail: 'oncall@example.com' }, /mpc-relay:alarmEmail: only used when mpc-relay:alarms is true/],
    [
      { allowedOperationTypes: 'PartialSig,Full Sig' },
      /mpc-relay:allowedOperationTypes: expected a comma-separated list/,
    ],
    [{ authmode: 'jwt' }, /mpc-relay:authmode: unknown configuration key/],
  ] as [Record<string, string>, RegExp][])('%o', (values, message) => {
    const problems = problemsOf(values);
    expect(
      problems.some((problem) => message.test(problem)),
      problems.join('\n'),
    ).toBe(true);
  });

  it('reports every problem at once, in one error naming the stack', () => {
    let error: unknown;
    try {
      parse({ authMode: 'oauth', mappingTtlSeconds: '-1', lambdaMemoryMb: 'x' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RelayConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^Invalid mpc-relay configuration for stack 'test':/);
    expect(message).toContain('mpc-relay:authMode');
    expect(message).toContain('mpc-relay:mappingTtlSeconds');
    expect(message).toContain('mpc-relay:lambdaMemoryMb');
  });

  it('a program fed through pulumi config refuses static auth on a production stack', async () => {
    const prod = prodConfig({ 'mpc-relay:jwtIssuer': '', 'mpc-relay:jwtAudience': '' });
    await expect(
      runProgram({ ...prod, 'mpc-relay:authMode': 'static', 'mpc-relay:jwtJwksUrl': '' }, { stack: 'prod' }),
    ).rejects.toThrow(/mpc-relay:authMode: 'static' accepts any caller and is refused on a production stack/);
  });

  it('a program fed through pulumi config refuses an unknown auth mode and a negative TTL', async () => {
    await expect(
      runProgram({ 'mpc-relay:authMode': 'magic', 'mpc-relay:inboxTtlSeconds': '-30' }, { stack: 'bad' }),
    ).rejects.toThrow(
      /mpc-relay:authMode: expected one of static, jwt, got 'magic'[\s\S]*mpc-relay:inboxTtlSeconds/,
    );
  });
});
