import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { epochSeconds } from '../config.js';
import type { TableRef } from './connections.js';
import { KEY } from './keys.js';

/** The mpc a cli answers to: pk `MAP#<cliId>`, sk `MAP`. Written by every mpc -> cli message. */
export interface MappingItem {
  pk: string;
  sk: string;
  cliId: string;
  mpcId: string;
  updatedAt: number;
  expiresAt: number;
}

/** Remembers that `cliId` answers to `mpcId` for `ttlSeconds` (1 PutItem, last writer wins). */
export async function putMapping(
  table: TableRef,
  cliId: string,
  mpcId: string,
  ttlSeconds: number,
  nowMs = Date.now(),
): Promise<void> {
  const item: MappingItem = {
    pk: KEY.mapping(cliId),
    sk: KEY.mappingSort,
    cliId,
    mpcId,
    updatedAt: nowMs,
    expiresAt: epochSeconds(nowMs) + ttlSeconds,
  };
  await table.db.send(new PutCommand({ TableName: table.tableName, Item: item }));
}

/**
 * The mpc this cli answers to, or undefined when no mpc contacted it or the mapping expired
 * (1 GetItem, strongly consistent: the mpc's message may have been written a moment ago).
 */
export async function getMapping(
  table: TableRef,
  cliId: string,
  nowMs = Date.now(),
): Promise<{ mapping: MappingItem | undefined; expired: MappingItem | undefined }> {
  const result = await table.db.send(
    new GetCommand({
      TableName: table.tableName,
      Key: { pk: KEY.mapping(cliId), sk: KEY.mappingSort },
      ConsistentRead: true,
    }),
  );
  const item = result.Item as MappingItem | undefined;
  if (!item) return { mapping: undefined, expired: undefined };
  if (item.expiresAt > epochSeconds(nowMs)) return { mapping: item, expired: undefined };
  return { mapping: undefined, expired: item };
}
