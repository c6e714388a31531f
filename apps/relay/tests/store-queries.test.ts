/**
 * The store process's LevelDB iterators fetch a batch on their first read (store/level.ts): every
 * Query still returns its range in order, page by page, both ways, and leaves no iterator open.
 */
import {
  BatchWriteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { testStores } from './test-stores.js';

const stores = testStores();
const TableName = 'relay';

async function pages(client: DynamoDBClient, input: QueryCommandInput): Promise<string[][]> {
  const result: string[][] = [];
  let ExclusiveStartKey: QueryCommandInput['ExclusiveStartKey'];
  do {
    const page = await client.send(new QueryCommand({ ...input, ExclusiveStartKey }));
    result.push((page.Items ?? []).map((item) => item.sk?.S ?? ''));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return result;
}

describe('Queries on the store', () => {
  it('a range of 0, 1 and 25 items, in pages both ways, with a begins_with and a filter', async () => {
    const { store, client } = await stores.open(stores.folder('relay-queries-'), { tableName: TableName });
    const sks = Array.from({ length: 25 }, (_, i) => `MSG#${String(i).padStart(3, '0')}`);
    for (let i = 0; i < sks.length; i += 25) {
      await client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [TableName]: sks.slice(i, i + 25).map((sk, j) => ({
              PutRequest: { Item: { pk: { S: 'P#many' }, sk: { S: sk }, n: { N: String(i + j) } } },
            })),
          },
        }),
      );
    }
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [TableName]: [
            { PutRequest: { Item: { pk: { S: 'P#one' }, sk: { S: 'CONN#a' } } } },
            { PutRequest: { Item: { pk: { S: 'P#one' }, sk: { S: 'X#b' } } } },
          ],
        },
      }),
    );
    const byPk = (pk: string): QueryCommandInput => ({
      TableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: pk } },
      ConsistentRead: true,
    });

    expect(await pages(client, byPk('P#none'))).toEqual([[]]);
    expect(
      await pages(client, {
        ...byPk('P#one'),
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': { S: 'P#one' }, ':prefix': { S: 'CONN#' } },
      }),
    ).toEqual([['CONN#a']]);
    expect((await pages(client, byPk('P#many'))).flat()).toEqual(sks);
    const forward = await pages(client, { ...byPk('P#many'), Limit: 7 });
    expect(forward.map((page) => page.length)).toEqual([7, 7, 7, 4]);
    expect(forward.flat()).toEqual(sks);
    const backward = await pages(client, { ...byPk('P#many'), Limit: 10, ScanIndexForward: false });
    expect(backward.flat()).toEqual([...sks].reverse());
    const odd = await pages(client, {
      ...byPk('P#many'),
      FilterExpression: 'n > :ten',
      ExpressionAttributeValues: { ':pk': { S: 'P#many' }, ':ten': { N: '10' } },
    });
    expect(odd.flat()).toEqual(sks.slice(11));
    const scanned = await client.send(new ScanCommand({ TableName }));
    expect(scanned.Count).toBe(27);

    expect((await store.stats()).openIterators).toBe(0);
    client.destroy();
  });
});
