import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { HANDLER_NAMES } from '@mpc-relay/handlers/routes';
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Program, prodConfig, REGION, REPO_ROOT, resolve, runProgram, SSM_KEY_ARN } from './harness.js';

const SECRET = 'hs256-secret-value-that-must-never-leak-0123456789';

describe('jwt secret delivery (prod stack with an HS256 secret)', () => {
  let p: Program;
  beforeAll(async () => {
    p = await runProgram(
      { ...prodConfig(), 'mpc-relay:jwtSecret': SECRET, 'mpc-relay:jwtAlgorithms': 'HS256,RS256' },
      { stack: 'prod', secretKeys: ['mpc-relay:jwtSecret'] },
    );
  });

  it('stores the secret as an SSM SecureString under the aws/ssm key, as a Pulumi secret', async () => {
    const parameter = p.one('aws:ssm/parameter:Parameter', `${p.prefix}-jwt-secret`);
    expect(parameter.inputs).toMatchObject({
      name: '/mpc-relay-prod/jwt-secret',
      type: 'SecureString',
      keyId: 'alias/aws/ssm',
    });
    expect(await pulumi.isSecret(p.relay.jwtSecret!.parameter.value)).toBe(true);
    expect(p.ofType('aws:ssm/parameter:Parameter')).toHaveLength(1);
  });

  it('gives the authorizer only the parameter name, never the value', () => {
    const env = p.fn('authorizer').inputs.environment.variables;
    expect(env.JWT_SECRET_PARAMETER).toBe('/mpc-relay-prod/jwt-secret');
    expect(env.JWT_ALGORITHMS).toBe('HS256,RS256');
    expect(env).not.toHaveProperty('JWT_SECRET');
    for (const resource of p.resources) {
      if (resource.type === 'aws:ssm/parameter:Parameter') continue;
      expect(JSON.stringify(resource.inputs)).not.toContain(SECRET);
    }
  });

  it('passes the parameter name as a plain reference: nothing the functions get derives from the secret', async () => {
    // A value computed from a Pulumi secret stays marked secret; the name the authorizer gets is not.
    const name = p.relay.jwtSecretParameterName!;
    expect(await pulumi.isSecret(name)).toBe(false);
    expect(await resolve(name)).toBe('/mpc-relay-prod/jwt-secret');
    for (const handler of HANDLER_NAMES) {
      const env = p.fn(handler).inputs.environment.variables as Record<string, string>;
      expect(Object.keys(env).filter((key) => key === 'JWT_SECRET')).toEqual([]);
      expect(JSON.stringify(env)).not.toContain(SECRET);
    }
    // ... and the secret value exists in exactly one place: the SecureString's (secret) value.
    const holders = p.resources.filter((r) => JSON.stringify(r.inputs).includes(SECRET));
    expect(holders.map((r) => r.type)).toEqual(['aws:ssm/parameter:Parameter']);
  });

  it('lets only the authorizer read that one parameter and decrypt it through SSM', () => {
    const parameter = p.one('aws:ssm/parameter:Parameter', `${p.prefix}-jwt-secret`);
    const statements = p.policy('authorizer').Statement;
    expect(statements.find((s) => s.Sid === 'JwtSecretParameter')).toEqual({
      Sid: 'JwtSecretParameter',
      Effect: 'Allow',
      Action: ['ssm:GetParameter'],
      Resource: [parameter.state.arn],
    });
    expect(parameter.state.arn).toBe(
      `arn:aws:ssm:${REGION}:123456789012:parameter/mpc-relay-prod/jwt-secret`,
    );
    expect(statements.find((s) => s.Sid === 'JwtSecretDecrypt')).toEqual({
      Sid: 'JwtSecretDecrypt',
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: [SSM_KEY_ARN],
      Condition: {
        StringEquals: {
          'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
          'kms:EncryptionContext:PARAMETER_ARN': parameter.state.arn,
        },
      },
    });
    expect(p.calls).toContain('aws:kms/getAlias:getAlias');
    for (const handler of ['connect', 'sendServer', 'broadcast', 'default'] as const) {
      const text = JSON.stringify(p.policy(handler));
      expect(text).not.toMatch(/ssm:|kms:/);
      expect(p.fn(handler).inputs.environment.variables).not.toHaveProperty('JWT_SECRET_PARAMETER');
    }
  });
});

describe('jwt without a secret (the prod example: JWKS)', () => {
  it('creates no parameter and grants no SSM or KMS access', async () => {
    const p = await runProgram(prodConfig(), { stack: 'prod' });
    expect(p.ofType('aws:ssm/parameter:Parameter')).toHaveLength(0);
    expect(JSON.stringify(p.policy('authorizer'))).not.toMatch(/ssm:|kms:/);
    expect(p.fn('authorizer').inputs.environment.variables).not.toHaveProperty('JWT_SECRET_PARAMETER');
    expect(p.relay.jwtSecretParameterName).toBeUndefined();
  });
});

describe('the stack files hold no secret', () => {
  it('Pulumi.prod.yaml is a production stack on jwt, and neither example carries a secret value', () => {
    const prod = prodConfig();
    expect(prod).toMatchObject({ 'mpc-relay:production': 'true', 'mpc-relay:authMode': 'jwt' });
    for (const stack of ['dev', 'prod']) {
      const text = readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), 'utf8');
      expect(text).not.toMatch(/^\s*mpc-relay:jwtSecret:/m);
      expect(text).not.toMatch(/secure:/);
    }
  });
});
