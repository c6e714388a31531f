import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type DynaliteServer, startDynalite } from './dynalite.js';
import { type FakeManagementApi, startManagementApi } from './management.js';
import { loadHandlers, TestRelay } from './relay.js';

export const TABLE_NAME = 'mpc-relay-test';

export interface Harness {
  relay: TestRelay;
  dynalite: DynaliteServer;
  management: FakeManagementApi;
  docs: DynamoDBDocumentClient;
  /** Every item of a partition (test inspection only). */
  items(pk: string): Promise<Record<string, unknown>[]>;
  /** The messages (and dedupe markers) of an inbox partition: its items but the waiting count. */
  inbox(pk: string): Promise<Record<string, unknown>[]>;
  /** Empties the table and the recorded posts between tests. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * dynalite + the fake management API + the handlers (sources or built bundles), wired through the
 * same environment variables the local gateway sets.
 */
export async function startHarness(from: 'src' | 'dist', env: Record<string, string> = {}): Promise<Harness> {
  const dynalite = await startDynalite(TABLE_NAME);
  const management = await startManagementApi('production');
  Object.assign(process.env, {
    TABLE_NAME,
    DYNAMODB_ENDPOINT: dynalite.endpoint,
    MANAGEMENT_ENDPOINT: management.endpoint,
    ...env,
  });
  const handlers = await loadHandlers(from);
  const docs = DynamoDBDocumentClient.from(dynalite.client);
  const items = async (pk: string) => {
    const result = await docs.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []) as Record<string, unknown>[];
  };
  return {
    relay: new TestRelay(handlers, management),
    dynalite,
    management,
    docs,
    items,
    async inbox(pk) {
      return (await items(pk)).filter((item) => String(item.sk).startsWith('MSG#'));
    },
    async reset() {
      // Empties the table (test-only Scan); deleting and recreating races dynalite's async delete.
      for (let round = 0; round < 100; round++) {
        const page = await docs.send(
          new ScanCommand({ TableName: TABLE_NAME, ProjectionExpression: 'pk, sk' }),
        );
        const keys = page.Items ?? [];
        if (keys.length === 0) break;
        for (let start = 0; start < keys.length; start += 25) {
          await docs.send(
            new BatchWriteCommand({
              RequestItems: {
                [TABLE_NAME]: keys.slice(start, start + 25).map((Key) => ({ DeleteRequest: { Key } })),
              },
            }),
          );
        }
      }
      management.clear();
    },
    async close() {
      await management.close();
      await dynalite.close();
    },
  };
}

/**
 * The usual per-describe setup: a harness started in beforeAll, emptied before each test, closed in
 * afterAll. Call it inside `describe`; the returned object is filled in by beforeAll.
 */
export function useHarness(from: 'src' | 'dist' = 'src', env: Record<string, string> = {}): Harness {
  const harness = {} as Harness;
  beforeAll(async () => {
    Object.assign(harness, await startHarness(from, env));
  });
  afterAll(async () => {
    await harness.close?.();
  });
  beforeEach(async () => {
    await harness.reset();
  });
  return harness;
}
