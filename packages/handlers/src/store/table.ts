import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { DocumentStore } from './document.js';
import { TTL_ATTRIBUTE } from './keys.js';
import { TABLE_SCHEMA } from './schema.js';

export { TABLE_SCHEMA };

/** The relay table as the store functions use it: the document store and the table's name. */
export interface TableRef {
  db: DocumentStore;
  tableName: string;
}

function createTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: TABLE_SCHEMA.billingMode,
    AttributeDefinitions: TABLE_SCHEMA.attributes.map((a) => ({
      AttributeName: a.name,
      AttributeType: a.type,
    })),
    KeySchema: [
      { AttributeName: TABLE_SCHEMA.hashKey, KeyType: 'HASH' },
      { AttributeName: TABLE_SCHEMA.rangeKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: TABLE_SCHEMA.globalSecondaryIndexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.hashKey, KeyType: 'HASH' },
        { AttributeName: index.rangeKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: index.projectionType },
    })),
  };
}

export interface CreateRelayTableResult {
  created: boolean;
  /** False where the server has no UpdateTimeToLive (dynalite): reads filter on expiresAt anyway. */
  ttlEnabled: boolean;
}

/**
 * Creates the relay table (idempotent: an existing table is left as it is), waits until it is
 * ACTIVE (bounded), then enables TTL on `expiresAt` where the server supports it.
 */
export async function createRelayTable(
  client: DynamoDBClient,
  tableName: string,
  options: { maxWaitMs?: number } = {},
): Promise<CreateRelayTableResult> {
  let created = true;
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw error;
    created = false;
  }
  const deadline = Date.now() + (options.maxWaitMs ?? 30_000);
  for (;;) {
    const description = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const table = description.Table;
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (table?.TableStatus === 'ACTIVE' && indexesActive) break;
    if (Date.now() > deadline) throw new Error(`table ${tableName} did not become ACTIVE in time`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let ttlEnabled = false;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    );
    ttlEnabled = true;
  } catch (error) {
    const name = (error as Error).name;
    // Already enabled (real DynamoDB) counts as enabled; no such operation (dynalite) does not.
    ttlEnabled = name === 'ValidationException' && /already enabled/i.test((error as Error).message);
  }
  return { created, ttlEnabled };
}
