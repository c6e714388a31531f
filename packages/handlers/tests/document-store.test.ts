import type { Agent } from 'node:http';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { documentClient, documentStore } from '../src/store/client.js';
import { type DynaliteServer, startDynalite } from './helpers/dynalite.js';

const TABLE = 'document-store-test';

describe('the document store: lib-dynamodb commands through a DynamoDBClient with cacheMiddleware', () => {
  let dynalite: DynaliteServer;
  /** The reference: lib-dynamodb's own document client on the same table. */
  let reference: DynamoDBDocumentClient;
  beforeAll(async () => {
    dynalite = await startDynalite(TABLE);
    reference = DynamoDBDocumentClient.from(dynalite.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
  });
  afterAll(async () => {
    await dynalite.close();
  });
  const store = () => documentClient(dynalite.endpoint, 'us-east-1');

  const item = {
    pk: 'DOC#1',
    sk: 'A',
    text: 'hello',
    count: 42,
    ratio: 0.5,
    flag: true,
    nothing: null,
    list: ['x', 2, { deep: 'y' }],
    map: { nested: { n: 1, s: 's' } },
    skipped: undefined,
  };
  const { skipped: _skipped, ...stored } = item;

  it('writes items as the document client does and reads them back as JavaScript values', async () => {
    await store().send(new PutCommand({ TableName: TABLE, Item: item }));
    const mine = await store().send(new GetCommand({ TableName: TABLE, Key: { pk: 'DOC#1', sk: 'A' } }));
    const theirs = await reference.send(new GetCommand({ TableName: TABLE, Key: { pk: 'DOC#1', sk: 'A' } }));
    expect(mine.Item).toEqual(stored);
    expect(theirs.Item).toEqual(stored);
    // The wire form is DynamoDB's: the same attribute values the document client writes.
    await reference.send(new PutCommand({ TableName: TABLE, Item: { ...item, sk: 'B' } }));
    const raw = (sk: string) =>
      dynalite.client.send(
        new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'DOC#1' }, sk: { S: sk } } }),
      );
    const [a, b] = await Promise.all([raw('A'), raw('B')]);
    expect({ ...a.Item, sk: undefined }).toEqual({ ...b.Item, sk: undefined });
    expect(a.Item?.count).toEqual({ N: '42' });
  });

  it('converts condition values, ALL_OLD / ALL_NEW attributes, query pages and their keys', async () => {
    const first = await store().send(
      new PutCommand({
        TableName: TABLE,
        Item: { pk: 'DOC#2', sk: 'A', v: 1 },
        ConditionExpression: 'attribute_not_exists(pk) OR v < :v',
        ExpressionAttributeValues: { ':v': 5 },
        ReturnValues: 'ALL_OLD',
      }),
    );
    expect(first.Attributes).toBeUndefined();
    const second = await store().send(
      new PutCommand({ TableName: TABLE, Item: { pk: 'DOC#2', sk: 'A', v: 2 }, ReturnValues: 'ALL_OLD' }),
    );
    expect(second.Attributes).toEqual({ pk: 'DOC#2', sk: 'A', v: 1 });
    const updated = await store().send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk: 'DOC#2', sk: 'A' },
        UpdateExpression: 'SET v = v + :one, tags = :tags',
        ExpressionAttributeValues: { ':one': 1, ':tags': ['a', 'b'] },
        ReturnValues: 'ALL_NEW',
      }),
    );
    expect(updated.Attributes).toEqual({ pk: 'DOC#2', sk: 'A', v: 3, tags: ['a', 'b'] });
    for (const sk of ['B', 'C', 'D'])
      await store().send(new PutCommand({ TableName: TABLE, Item: { pk: 'DOC#2', sk } }));
    const seen: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await store().send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'DOC#2' },
          Limit: 3,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      seen.push(...(page.Items ?? []).map((found) => String(found.sk)));
      startKey = page.LastEvaluatedKey;
      if (startKey) expect(startKey).toEqual({ pk: 'DOC#2', sk: 'C' });
    } while (startKey);
    expect(seen).toEqual(['A', 'B', 'C', 'D']);
    await store().send(new DeleteCommand({ TableName: TABLE, Key: { pk: 'DOC#2', sk: 'D' } }));
    const gone = await store().send(new GetCommand({ TableName: TABLE, Key: { pk: 'DOC#2', sk: 'D' } }));
    expect(gone.Item).toBeUndefined();
  });

  it('batch-writes puts and deletes', async () => {
    await store().send(
      new BatchWriteCommand({
        RequestItems: {
          [TABLE]: [
            { PutRequest: { Item: { pk: 'DOC#3', sk: 'A', n: 1 } } },
            { PutRequest: { Item: { pk: 'DOC#3', sk: 'B', n: 2 } } },
          ],
        },
      }),
    );
    const result = await store().send(
      new BatchWriteCommand({
        RequestItems: { [TABLE]: [{ DeleteRequest: { Key: { pk: 'DOC#3', sk: 'A' } } }] },
      }),
    );
    expect(result.UnprocessedItems ?? {}).toEqual({});
    const left = await reference.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'DOC#3' },
      }),
    );
    expect(left.Items).toEqual([{ pk: 'DOC#3', sk: 'B', n: 2 }]);
  });

  it('sends each command its own input, also many of one class at once (the cached stack keeps none)', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `K${i}`);
    await Promise.all(
      keys.map((sk, i) => store().send(new PutCommand({ TableName: TABLE, Item: { pk: 'DOC#4', sk, i } }))),
    );
    const read = await Promise.all(
      keys.map((sk) => store().send(new GetCommand({ TableName: TABLE, Key: { pk: 'DOC#4', sk } }))),
    );
    expect(read.map((result) => result.Item)).toEqual(keys.map((sk, i) => ({ pk: 'DOC#4', sk, i })));
  });

  it('refuses what it does not convert instead of sending it unconverted', async () => {
    const refused = (command: unknown) => store().send(command as PutCommand);
    await expect(
      refused(
        new PutCommand({
          TableName: TABLE,
          Item: { pk: 'DOC#5', sk: 'A' },
          Expected: { pk: { Exists: false } },
        }),
      ),
    ).rejects.toThrow('Expected is not supported');
    await expect(
      refused(
        new QueryCommand({
          TableName: TABLE,
          KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: ['DOC#5'] } },
        }),
      ),
    ).rejects.toThrow('KeyConditions is not supported');
    await expect(
      refused(new BatchGetCommand({ RequestItems: { [TABLE]: { Keys: [{ pk: 'DOC#5', sk: 'A' }] } } })),
    ).rejects.toThrow('RequestItems is not supported');
    await expect(
      refused(
        new PutCommand({
          TableName: TABLE,
          Item: { pk: 'DOC#5', sk: 'A' },
          ReturnItemCollectionMetrics: 'SIZE',
        }),
      ),
    ).rejects.toThrow('ReturnItemCollectionMetrics is not supported');
    const none = await reference.send(new GetCommand({ TableName: TABLE, Key: { pk: 'DOC#5', sk: 'A' } }));
    expect(none.Item).toBeUndefined();
    // Any other command of the expression API goes through, converted the same way.
    const scan = (await refused(
      new ScanCommand({
        TableName: TABLE,
        FilterExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'DOC#2' },
      }),
    )) as unknown as { Items: Record<string, unknown>[] };
    expect(scan.Items.map((found) => found.sk).sort()).toEqual(['A', 'B', 'C']);
  });

  it('a store on any DynamoDBClient (the tests use it on their own client)', async () => {
    const own = documentStore(dynalite.client);
    await own.send(new PutCommand({ TableName: TABLE, Item: { pk: 'DOC#6', sk: 'A', x: 'y' } }));
    expect(
      (await store().send(new GetCommand({ TableName: TABLE, Key: { pk: 'DOC#6', sk: 'A' } }))).Item,
    ).toEqual({
      pk: 'DOC#6',
      sk: 'A',
      x: 'y',
    });
  });
});

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
  path: string;
}

/** DynamoDB's JSON protocol, scripted: each request takes the next answer, then `{}` (200). */
describe("the handlers' DynamoDB client on the wire: SigV4 with one signer, skew correction, one kept-alive socket", () => {
  let server: Server;
  let endpoint: string;
  let received: Received[] = [];
  let connections = 0;
  let script: { status: number; headers: Record<string, string>; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks), path: request.url ?? '/' });
        const answer = script.shift() ?? { status: 200, headers: {}, body: '{}' };
        response.writeHead(answer.status, {
          'content-type': 'application/x-amz-json-1.0',
          ...answer.headers,
        });
        response.end(answer.body);
      });
    });
    server.on('connection', (_socket: Socket) => {
      connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    documentClient(endpoint, 'eu-west-1').client.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    received = [];
    script = [];
  });
  const store = () => documentClient(endpoint, 'eu-west-1');
  const put = (sk: string) => store().send(new PutCommand({ TableName: TABLE, Item: { pk: 'P', sk } }));

  async function signatureMatches(request: Received): Promise<boolean> {
    const authorization = String(request.headers.authorization ?? '');
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
    const amzDate = String(request.headers['x-amz-date'] ?? '');
    const headers: Record<string, string> = {};
    for (const name of signedHeaders) headers[name] = String(request.headers[name] ?? '');
    const again = await new SignatureV4({
      service: 'dynamodb',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      sha256: Sha256,
    }).sign(
      new HttpRequest({
        method: 'POST',
        hostname: '127.0.0.1',
        path: request.path,
        headers,
        body: request.body,
      }),
      { signingDate: amzDateToDate(amzDate) },
    );
    return (
      authorization.includes('/eu-west-1/dynamodb/aws4_request') &&
      signedHeaders.includes('host') &&
      again.headers.authorization === authorization
    );
  }

  it('signs every request for dynamodb in its region, each signature valid', async () => {
    await put('1');
    await Promise.all([put('2'), put('3')]);
    await put('4');
    expect(received).toHaveLength(4);
    for (const request of received) expect(await signatureMatches(request)).toBe(true);
    expect(received.map((request) => JSON.parse(request.body.toString()).Item.sk)).toEqual(
      expect.arrayContaining([{ S: '1' }, { S: '2' }, { S: '3' }, { S: '4' }]),
    );
  });

  it('corrects its clock from a clock-skew answer and signs the retry with the corrected date', async () => {
    const serverNow = new Date(Date.now() + 3_600_000);
    script = [
      {
        status: 400,
        headers: { 'x-amzn-ErrorType': 'InvalidSignatureException', date: serverNow.toUTCString() },
        body: JSON.stringify({
          __type: 'com.amazon.coral.service#InvalidSignatureException',
          message: 'Signature expired: the request time is too skewed',
        }),
      },
      // The answer to the retry carries the server's clock too (each answer's Date is sampled).
      { status: 200, headers: { date: serverNow.toUTCString() }, body: '{}' },
    ];
    await put('skew');
    expect(received).toHaveLength(2);
    const [first, retry] = received.map((request) =>
      amzDateToDate(String(request.headers['x-amz-date'])).getTime(),
    );
    expect(Math.abs((first ?? 0) - Date.now())).toBeLessThan(600_000);
    expect(Math.abs((retry ?? 0) - serverNow.getTime())).toBeLessThan(600_000);
    expect(await signatureMatches(received[1] as Received)).toBe(true);
    // And the next request too: the offset stays with the client.
    await put('after');
    expect(
      Math.abs(amzDateToDate(String(received[2]?.headers['x-amz-date'])).getTime() - serverNow.getTime()),
    ).toBeLessThan(600_000);
  });

  it('keeps one connection alive for sequential requests, without Nagle delay', async () => {
    await put('warm');
    const before = connections;
    for (let i = 0; i < 5; i++) await put(`seq-${i}`);
    expect(connections - before).toBe(0);
    const handler = store().client.config.requestHandler as NodeHttpHandler;
    const agent = (handler.httpHandlerConfigs() as { httpAgent?: Agent }).httpAgent as Agent & {
      keepAlive?: boolean;
      options: { noDelay?: boolean };
    };
    expect(agent.keepAlive).toBe(true);
    expect(agent.options.noDelay).toBe(true);
  });
});

function amzDateToDate(amzDate: string): Date {
  return new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
}
