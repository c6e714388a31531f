import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { environmentCredentials } from '../aws/credentials.js';
import { attachRequestCounter } from './request-counter.js';
import type { TableRef } from './table.js';

/**
 * Document clients, created once per container and endpoint and reused by every invocation
 * (connection reuse matters more than anything else for latency). Handler modules call
 * `documentClient()` at module scope so the client is built during the Lambda init phase.
 */
const clients = new Map<string, DynamoDBDocumentClient>();

export function documentClient(
  endpoint: string | undefined = process.env.DYNAMODB_ENDPOINT || undefined,
  region: string = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
): DynamoDBDocumentClient {
  const key = `${region} ${endpoint ?? ''}`;
  let client = clients.get(key);
  if (!client) {
    const base = new DynamoDBClient({
      region,
      credentials: environmentCredentials(),
      ...(endpoint ? { endpoint } : {}),
    });
    client = DynamoDBDocumentClient.from(base, {
      marshallOptions: { removeUndefinedValues: true },
    });
    attachRequestCounter(base);
    clients.set(key, client);
  }
  return client;
}

/** The relay table of a configuration, on the container's cached client for its endpoint. */
export function relayTable(config: {
  dynamodbEndpoint: string | undefined;
  region: string;
  tableName: string;
}): TableRef {
  return { db: documentClient(config.dynamodbEndpoint, config.region), tableName: config.tableName };
}
