import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import type { RelayConfig } from './config.js';
import { BY_TYPE_INDEX } from './iam.js';

/** The handlers' single table: pk/sk, GSI `byType` (gsi1pk/gsi1sk), TTL on `expiresAt`. */
export function createTable(
  name: string,
  config: RelayConfig,
  tags: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): aws.dynamodb.Table {
  return new aws.dynamodb.Table(
    name,
    {
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
          name: BY_TYPE_INDEX,
          keySchemas: [
            { attributeName: 'gsi1pk', keyType: 'HASH' },
            { attributeName: 'gsi1sk', keyType: 'RANGE' },
          ],
          projectionType: 'ALL',
        },
      ],
      ttl: { attributeName: 'expiresAt', enabled: true },
      pointInTimeRecovery: { enabled: config.pointInTimeRecovery },
      deletionProtectionEnabled: config.deletionProtection,
      // Encrypted with the AWS managed key (aws/dynamodb): auditable in CloudTrail, no key policy to run.
      serverSideEncryption: { enabled: true },
      tags,
    },
    opts,
  );
}
