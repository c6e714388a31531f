import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { epochSeconds } from '../config.js';
import { CONVERSATION_KEY_MAX_BYTES, KEY } from './keys.js';
import type { TableRef } from './table.js';

/** The connection an mpc sent its last message of a route from: where a reply is posted first. */
export interface RecordedConnection {
  connectionId: string;
  /** `v1` or the negotiated subprotocol (`mpc-relay.v2`). */
  protocol: string;
}

/**
 * A route from a cli back to an mpc, pk `MAP#<cliId>`:
 * - a **conversation** (sk `CONV#<key>`): opened by the first mpc -> cli message naming the key
 *   (`sessionId`, else the message's `transactionId` / `txId`), refreshed by that mpc's next ones,
 *   never taken over by another mpc while it lives; a reply naming the key goes to its mpc;
 * - the **latest mapping** (sk `MAP`): the mpc that last sent this cli a message naming no
 *   conversation; a reply naming none goes there (the original demo's rule).
 * Both record what a reply needs, so it costs 1 GetItem and a post: the mpc's connection as of its
 * last message (a 410 falls back to the Query of the mpc's connections) and its teams and peers.
 */
export interface RouteItem {
  pk: string;
  sk: string;
  cliId: string;
  mpcId: string;
  /** The conversation key (conversations only; clipped to CONVERSATION_KEY_MAX_BYTES characters). */
  key?: string;
  /** The mpc's connection(s) as of its last message. Absent on items of older relays. */
  connections?: RecordedConnection[];
  /** The mpc's teams (comma string) when it had any. */
  teams?: string;
  /** The conversation's team: its message's `teamId` (tenant isolation). */
  teamId?: string;
  /** The mpc's token `peers` claim (comma string) when it had one. */
  peers?: string;
  updatedAt: number;
  /** Epoch seconds (MAPPING_TTL_SECONDS after its last message); DynamoDB TTL. */
  expiresAt: number;
}

/** Backwards compatible name: the latest mapping is a route item with sk `MAP`. */
export type MappingItem = RouteItem;

export interface RouteInput {
  cliId: string;
  mpcId: string;
  /** A conversation key; undefined for the latest mapping. */
  key?: string | undefined;
  connections: RecordedConnection[];
  teams?: readonly string[];
  teamId?: string | undefined;
  peers?: readonly string[] | undefined;
}

/** The key of a cli's conversation (`key`) or of its latest mapping (no key). */
export function routeKeyOf(cliId: string, key?: string): { pk: string; sk: string } {
  return { pk: KEY.mapping(cliId), sk: key === undefined ? KEY.mappingSort : KEY.conversationSort(key) };
}

/** Builds a route item (not written). */
export function routeItem(input: RouteInput, ttlSeconds: number, nowMs = Date.now()): RouteItem {
  return {
    ...routeKeyOf(input.cliId, input.key),
    cliId: input.cliId,
    mpcId: input.mpcId,
    ...(input.key !== undefined ? { key: input.key.slice(0, CONVERSATION_KEY_MAX_BYTES) } : {}),
    connections: input.connections,
    ...(input.teams && input.teams.length > 0 ? { teams: input.teams.join(',') } : {}),
    ...(input.teamId !== undefined ? { teamId: input.teamId } : {}),
    ...(input.peers !== undefined ? { peers: input.peers.join(',') } : {}),
    updatedAt: nowMs,
    expiresAt: epochSeconds(nowMs) + ttlSeconds,
  };
}

export type RouteWrite =
  | { outcome: 'written'; item: RouteItem; previous: RouteItem | undefined }
  | { outcome: 'taken' };

/**
 * Writes a route item (1 PutItem). A conversation is written only if no other mpc holds it
 * (`attribute_not_exists(pk) OR mpcId = :mpc OR expiresAt <= :now`: TTL deletes late); else
 * `taken`. The latest mapping is written unconditionally (last writer wins, by definition). The
 * previous item comes back (ReturnValues ALL_OLD, no read cost) so a refused send can undo it.
 */
export async function putRoute(table: TableRef, item: RouteItem, nowMs = Date.now()): Promise<RouteWrite> {
  const conversation = item.sk !== KEY.mappingSort;
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await table.db.send(
        new PutCommand({
          TableName: table.tableName,
          Item: item,
          ReturnValues: 'ALL_OLD',
          ...(conversation
            ? {
                ConditionExpression: 'attribute_not_exists(pk) OR mpcId = :mpc OR expiresAt <= :now',
                ExpressionAttributeValues: { ':mpc': item.mpcId, ':now': epochSeconds(nowMs) },
              }
            : {}),
        }),
      );
      return { outcome: 'written', item, previous: result.Attributes as RouteItem | undefined };
    } catch (error) {
      if (!conversation || (error as Error)?.name !== 'ConditionalCheckFailedException') throw error;
    }
    // A failed condition should mean another mpc holds it: make sure before refusing (1 GetItem,
    // on this path only), since a refusal is final for the sender and a retry is not.
    const held = await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: item.pk, sk: item.sk }, ConsistentRead: true }),
    );
    const holder = held.Item as RouteItem | undefined;
    if (holder && holder.mpcId !== item.mpcId && holder.expiresAt > epochSeconds(nowMs)) {
      return { outcome: 'taken' };
    }
    if (attempt >= 2)
      throw new Error('the conversation write failed its condition although no other mpc holds it');
  }
}

/**
 * Undoes a route write of a send that was then refused (1 request, only on that path): puts back
 * the previous item, or deletes the new one, unless another message changed it since (conditional).
 */
export async function undoRoute(table: TableRef, write: RouteWrite): Promise<void> {
  if (write.outcome !== 'written') return;
  const { item, previous } = write;
  const ours = {
    ConditionExpression: 'mpcId = :mpc AND updatedAt = :updatedAt',
    ExpressionAttributeValues: { ':mpc': item.mpcId, ':updatedAt': item.updatedAt },
  };
  try {
    if (previous) {
      await table.db.send(new PutCommand({ TableName: table.tableName, Item: previous, ...ours }));
    } else {
      await table.db.send(
        new DeleteCommand({ TableName: table.tableName, Key: { pk: item.pk, sk: item.sk }, ...ours }),
      );
    }
  } catch (error) {
    if ((error as Error)?.name !== 'ConditionalCheckFailedException') throw error;
  }
}

/**
 * The route a cli's reply takes (1 GetItem, strongly consistent: the mpc's message may have been
 * written a moment ago): its conversation when it names a key, else its latest mapping. Expired
 * items are reported apart (TTL deletes late).
 */
export async function getRoute(
  table: TableRef,
  cliId: string,
  key: string | undefined,
  nowMs = Date.now(),
): Promise<{ route: RouteItem | undefined; expired: RouteItem | undefined }> {
  const result = await table.db.send(
    new GetCommand({ TableName: table.tableName, Key: routeKeyOf(cliId, key), ConsistentRead: true }),
  );
  const item = result.Item as RouteItem | undefined;
  if (!item) return { route: undefined, expired: undefined };
  if (item.expiresAt > epochSeconds(nowMs)) return { route: item, expired: undefined };
  return { route: undefined, expired: item };
}
