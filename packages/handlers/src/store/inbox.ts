import { BatchWriteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { PeerIdentity } from '@mpc-relay/protocol';
import { epochSeconds } from '../config.js';
import type { TableRef } from './connections.js';
import { inboxSortKey, KEY } from './keys.js';

/**
 * A message waiting for an offline (or stale) peer: pk `INBOX#<type>#<peerId>`,
 * sk `MSG#<ms>#<seq>#<rand>` (so a Query returns them in order).
 */
export interface InboxItem {
  pk: string;
  sk: string;
  /** The exact frame text to post to the peer. */
  frame: string;
  from: string;
  operationType: string;
  /** Frame size in bytes. */
  size: number;
  storedAt: number;
  expiresAt: number;
  /** The sender's teams (comma string) when it had any: checked against the receiver at delivery. */
  teams?: string;
  /** The message's `teamId`, when it carried one: the receiver must serve that team. */
  teamId?: string;
  /**
   * Tenant isolation, mpc -> offline cli: the mapping `cliId -> mpcId` is written only when the
   * message is delivered (the cli's teams are unknown until then), not when it is stored.
   */
  mapping?: { cliId: string; mpcId: string };
}

/** What a sender leaves for an offline peer. */
export interface InboxMessage {
  frame: string;
  from: string;
  operationType: string;
  size: number;
  teams?: readonly string[];
  teamId?: string;
  mapping?: { cliId: string; mpcId: string };
}

/** Keeps a frame for a peer for `ttlSeconds` (1 PutItem). Returns the stored item. */
export async function putInboxMessage(
  table: TableRef,
  peer: PeerIdentity,
  message: InboxMessage,
  ttlSeconds: number,
  nowMs = Date.now(),
): Promise<InboxItem> {
  const item: InboxItem = {
    pk: KEY.inbox(peer),
    sk: inboxSortKey(nowMs),
    frame: message.frame,
    from: message.from,
    operationType: message.operationType,
    size: message.size,
    storedAt: nowMs,
    expiresAt: epochSeconds(nowMs) + ttlSeconds,
    ...(message.teams && message.teams.length > 0 ? { teams: message.teams.join(',') } : {}),
    ...(message.teamId !== undefined ? { teamId: message.teamId } : {}),
    ...(message.mapping ? { mapping: message.mapping } : {}),
  };
  await table.db.send(new PutCommand({ TableName: table.tableName, Item: item }));
  return item;
}

/**
 * The peer's inbox in stored order (1 Query per page of up to 1 MB, bounded), split into live
 * messages and expired ones (TTL deletes late: expired items must not be delivered).
 */
export async function readInbox(
  table: TableRef,
  peer: PeerIdentity,
  nowMs = Date.now(),
  maxPages = 10,
): Promise<{ live: InboxItem[]; expired: InboxItem[] }> {
  const live: InboxItem[] = [];
  const expired: InboxItem[] = [];
  const now = epochSeconds(nowMs);
  let startKey: Record<string, unknown> | undefined;
  for (let page = 0; page < maxPages; page++) {
    const result = await table.db.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': KEY.inbox(peer), ':prefix': KEY.inboxPrefix },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of (result.Items ?? []) as InboxItem[]) {
      (item.expiresAt > now ? live : expired).push(item);
    }
    startKey = result.LastEvaluatedKey;
    if (!startKey) break;
  }
  return { live, expired };
}

/** Deletes inbox items (BatchWriteItem, 25 per request, unprocessed items retried a bounded number of times). */
export async function deleteInboxItems(
  table: TableRef,
  items: readonly Pick<InboxItem, 'pk' | 'sk'>[],
): Promise<void> {
  for (let start = 0; start < items.length; start += 25) {
    let requests = items.slice(start, start + 25).map((item) => ({
      DeleteRequest: { Key: { pk: item.pk, sk: item.sk } },
    }));
    for (let attempt = 0; attempt < 5 && requests.length > 0; attempt++) {
      const result = await table.db.send(
        new BatchWriteCommand({ RequestItems: { [table.tableName]: requests } }),
      );
      requests = (result.UnprocessedItems?.[table.tableName] ?? []) as typeof requests;
      if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
    }
  }
}
