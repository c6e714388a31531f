/**
 * The store process keeps the table descriptions it read (dynalite reads one at the start of
 * every request): every change of a table is seen by the next request, in the same process and
 * after a restart.
 */
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import type { AwsCredentials } from '@mpc-relay/local-gateway';
import { describe, expect, it } from 'vitest';
import { testStores } from './test-stores.js';

const stores = testStores();
const TableName = 'other';

// Retried generously: the test crashes the store process, which answers 500 until it is back.
const open = (dataDir: string, credentials?: AwsCredentials) =>
  stores.open(dataDir, { maxAttempts: 20, ...(credentials ? { credentials } : {}) });

const create = (client: DynamoDBClient, key: string, capacity: number) =>
  client.send(
    new CreateTableCommand({
      TableName,
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      ProvisionedThroughput: { ReadCapacityUnits: capacity, WriteCapacityUnits: capacity },
    }),
  );

/** Polls until the table is ACTIVE (the SDK's waiter waits 20 s between tries). */
const active = (client: DynamoDBClient) =>
  expect
    .poll(async () => (await client.send(new DescribeTableCommand({ TableName }))).Table?.TableStatus, {
      timeout: 30_000,
    })
    .toBe('ACTIVE');

const capacity = async (client: DynamoDBClient) =>
  (await client.send(new DescribeTableCommand({ TableName }))).Table?.ProvisionedThroughput
    ?.ReadCapacityUnits;

describe('table descriptions in the store process', () => {
  it('an update, a deletion and a new table of the same name are each seen by the next request', async () => {
    const dataDir = stores.folder('relay-tables-');
    const { store, client, credentials } = await open(dataDir);
    await create(client, 'id', 1);
    await active(client);
    await client.send(new PutItemCommand({ TableName, Item: { id: { S: 'a' } } }));
    expect(await capacity(client)).toBe(1);

    await client.send(
      new UpdateTableCommand({
        TableName,
        ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
      }),
    );
    // dynalite applies the new throughput a moment later (UPDATING, then ACTIVE), as DynamoDB does.
    await active(client);
    expect(await capacity(client)).toBe(5);

    await client.send(new DeleteTableCommand({ TableName }));
    await expect(
      client.send(new PutItemCommand({ TableName, Item: { id: { S: 'b' } } })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);

    const gone = () =>
      client.send(new DescribeTableCommand({ TableName })).then(
        () => false,
        (error: unknown) => error instanceof ResourceNotFoundException,
      );
    await expect.poll(gone, { timeout: 30_000 }).toBe(true);

    // Same name, another key: the item's key is checked against the new description.
    await create(client, 'name', 2);
    await active(client);
    await expect(client.send(new PutItemCommand({ TableName, Item: { id: { S: 'c' } } }))).rejects.toThrow(
      /key/i,
    );
    await client.send(new PutItemCommand({ TableName, Item: { name: { S: 'd' } } }));
    expect(await capacity(client)).toBe(2);

    // A new store process reads what the last one wrote.
    store.supervisor.crash();
    const restarts = store.supervisor.restarts;
    await expect.poll(() => store.supervisor.restarts, { timeout: 30_000 }).toBeGreaterThan(restarts);
    await store.supervisor.ready();
    expect(await capacity(client)).toBe(2);
    const item = await client.send(new GetItemCommand({ TableName, Key: { name: { S: 'd' } } }));
    expect(item.Item).toEqual({ name: { S: 'd' } });
    client.destroy();
    await store.close();

    // And so does the next relay on the folder.
    const reopened = await open(dataDir, credentials);
    expect(await capacity(reopened.client)).toBe(2);
    reopened.client.destroy();
  });
});
