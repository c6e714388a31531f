import { TABLE_SCHEMA } from '@mpc-relay/handlers/table-schema';
import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import type { ResolvedRelayArgs } from './args.js';
import type { RelayNames } from './names.js';

/** The handlers' single table (TABLE_SCHEMA): pk/sk, GSI `byType` (gsi1pk/gsi1sk), TTL on `expiresAt`. */
export function createTable(
  name: string,
  names: RelayNames,
  config: ResolvedRelayArgs,
  tags: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): aws.dynamodb.Table {
  return new aws.dynamodb.Table(
    name,
    {
      name: names.table(),
      // Keys, index and TTL come from the handlers' own description of the table: one source of truth.
      billingMode: TABLE_SCHEMA.billingMode,
      hashKey: TABLE_SCHEMA.hashKey,
      rangeKey: TABLE_SCHEMA.rangeKey,
      attributes: TABLE_SCHEMA.attributes.map((attribute) => ({ ...attribute })),
      globalSecondaryIndexes: TABLE_SCHEMA.globalSecondaryIndexes.map((index) => ({
        name: index.name,
        keySchemas: [
          { attributeName: index.hashKey, keyType: 'HASH' },
          { attributeName: index.rangeKey, keyType: 'RANGE' },
        ],
        projectionType: index.projectionType,
      })),
      ttl: { attributeName: TABLE_SCHEMA.ttlAttribute, enabled: true },
      pointInTimeRecovery: { enabled: config.pointInTimeRecovery },
      deletionProtectionEnabled: config.deletionProtection,
      // Encrypted with the AWS managed key (aws/dynamodb): auditable in CloudTrail, no key policy to run.
      serverSideEncryption: { enabled: true },
      tags,
    },
    opts,
  );
}
