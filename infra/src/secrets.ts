import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ResolvedRelayArgs } from './args.js';
import type { SecretAccess } from './iam.js';
import type { RelayNames } from './names.js';

export interface JwtSecret {
  parameter: aws.ssm.Parameter;
  /** What the authorizer's role needs to read it (and nothing else). */
  access: pulumi.Output<SecretAccess>;
}

/**
 * The HS* signing secret as an SSM SecureString, created from the Pulumi secret config (so it is
 * encrypted in the stack state too). The authorizer receives only the parameter NAME
 * (`JWT_SECRET_PARAMETER`) and reads the value at cold start.
 */
export function createJwtSecret(
  name: string,
  names: RelayNames,
  config: ResolvedRelayArgs,
  tags: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): JwtSecret | undefined {
  const secret = config.jwt?.secret;
  if (secret === undefined) return undefined;
  const parameter = new aws.ssm.Parameter(
    name,
    {
      name: names.path('jwt-secret'),
      description: 'HS* signing secret of the mpc-relay authorizer',
      type: 'SecureString',
      keyId: 'alias/aws/ssm',
      value: pulumi.secret(secret),
      tags,
    },
    opts,
  );
  const invokeOpts: pulumi.InvokeOutputOptions = {
    ...(opts.parent !== undefined ? { parent: opts.parent } : {}),
    // The AWS managed key exists once a SecureString has been written in the region.
    dependsOn: [parameter],
  };
  const key = aws.kms.getAliasOutput({ name: 'alias/aws/ssm' }, invokeOpts);
  const region = aws.getRegionOutput({}, invokeOpts);
  const access = pulumi
    .all([parameter.arn, key.targetKeyArn, region.region])
    .apply(([parameterArn, kmsKeyArn, regionName]) => ({ parameterArn, kmsKeyArn, region: regionName }));
  return { parameter, access };
}
