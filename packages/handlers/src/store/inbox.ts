import { createHash, randomUUID } from 'node:crypto';
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { PeerIdentity } from '@mpc-relay/protocol';
import { epochSeconds } from '../config.js';
import { logger } from '../logger.js';
import { inboxSortKey, KEY } from './keys.js';
import type { TableRef } from './table.js';

/**
 * A message for a peer: pk `INBOX#<type>#<peerId>`. Two kinds of sort keys:
 * - from a v1 sender: `MSG#<ms>#<seq>#<rand>` (time ordered, as before protocol v2);
 * - from a v2 sender (it gave a `clientMsgId`): `MSG#c<hash of sender + clientMsgId>`, so the same
 *   message sent twice lands on the same key and a conditional write (`attribute_not_exists`)
 *   suppresses the duplicate. `order` keeps the stored order (reads sort on it).
 * The relay's `messageId` is the sort key without `MSG#`: an ack names its item directly.
 *
 * An item with a `frame` is a message to deliver (v1 receivers: deleted once delivered; v2
 * receivers: kept until acknowledged or expired). An item without `frame` is a **dedupe marker**:
 * what remains of a v2 sender's message once delivered (v1 receiver) or acknowledged (v2
 * receiver), kept DEDUPE_TTL_SECONDS so a late duplicate is still recognised.
 */
export interface InboxItem {
  pk: string;
  sk: string;
  /** The exact v1 delivery text (v2 receivers get it with the ids appended). Absent on markers. */
  frame?: string;
  from: string;
  operationType: string;
  /** Frame size in bytes. */
  size: number;
  /** When the relay accepted the message (epoch ms); the v2 delivery's `sentAt`. */
  storedAt: number;
  /** Epoch seconds: message expiry (INBOX_TTL_SECONDS), or a marker's dedupe window. DynamoDB TTL. */
  expiresAt: number;
  /** The exact expiry (epoch ms); `expiresAt` is its ceiling in seconds, for DynamoDB TTL. */
  expiresAtMs?: number;
  /** No connection took it when it was sent: it waited for its receiver from the start. */
  storedOffline?: boolean;
  /**
   * A frame from the relay itself (the EXPIRED report of a message this peer sent while it was
   * offline): posted once as it is to the peer's next v2 connection, then deleted.
   */
  notice?: boolean;
  /** The relay's message id (the sort key without `MSG#`). */
  messageId?: string;
  /** The v2 sender's own id for the message, echoed to v2 receivers and in EXPIRED reports. */
  clientMsgId?: string;
  /** Stored order: `<ms>#<seq>#<rand>` (absent on items written before protocol v2: the sk is). */
  order?: string;
  /**
   * Last time it was redelivered to a v2 connection (epoch ms); the redelivery delay counts from
   * it, or from `storedAt` (the first delivery is attempted right after the store).
   */
  deliveredAt?: number;
  /** How many times it was posted to v2 connections. */
  attempts?: number;
  /** Id of the conditional write that stored it (an SDK retry of that write is not a duplicate). */
  writeId?: string;
  /** On markers: when the message was delivered (v1 receiver) or acknowledged (epoch ms). */
  doneAt?: number;
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

/** What a sender leaves for a peer. */
export interface InboxMessage {
  frame: string;
  from: string;
  operationType: string;
  size: number;
  teams?: readonly string[];
  teamId?: string;
  mapping?: { cliId: string; mpcId: string };
  /** Protocol v2: the sender's id for the message (makes the item's key deterministic). */
  clientMsgId?: string;
}

const MSG = KEY.inboxPrefix;

/**
 * What waits for a peer, pk `INBOX#<type>#<peerId>`, sk `COUNT` (outside the `MSG#` range reads
 * use): messages stored because no connection took them, counted when stored (1 conditional
 * UpdateItem on that path only) and recounted from the rows every drain reads (written in the
 * drain's own batch: no extra request). Its expiry follows the newest counted message, so a count
 * whose messages all expired reads as zero. Approximate under concurrent stores and drains (a few
 * messages), exact otherwise.
 */
export interface InboxCounterItem {
  pk: string;
  sk: typeof KEY.inboxCounterSort;
  messages: number;
  bytes: number;
  expiresAt: number;
}

export interface InboxLimits {
  /** 0: no limit. */
  maxMessages: number;
  /** 0: no limit. */
  maxBytes: number;
}

/**
 * Counts one more waiting message of `bytes` for `peer`, unless that would go over `limits`:
 * `false` (nothing changed). 1 UpdateItem (2 when the previous count had expired).
 */
export async function reserveInboxSpace(
  table: TableRef,
  peer: PeerIdentity,
  bytes: number,
  limits: InboxLimits,
  ttlSeconds: number,
  nowMs = Date.now(),
): Promise<boolean> {
  const key = { pk: KEY.inbox(peer), sk: KEY.inboxCounterSort };
  const now = epochSeconds(nowMs);
  const maxMessages = limits.maxMessages > 0 ? limits.maxMessages : Number.MAX_SAFE_INTEGER;
  const maxBytes = limits.maxBytes > 0 ? limits.maxBytes : Number.MAX_SAFE_INTEGER;
  if (bytes > maxBytes) return false;
  try {
    // A live count with room (or none yet): add this message.
    await table.db.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: key,
        UpdateExpression: 'SET expiresAt = :expiresAt ADD messages :one, bytes :bytes',
        ConditionExpression:
          'attribute_not_exists(pk) OR (expiresAt > :now AND messages < :maxMessages AND bytes <= :room)',
        ExpressionAttributeValues: {
          ':expiresAt': now + ttlSeconds,
          ':one': 1,
          ':bytes': bytes,
          ':now': now,
          ':maxMessages': maxMessages,
          ':room': maxBytes - bytes,
        },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error)?.name !== 'ConditionalCheckFailedException') throw error;
  }
  try {
    // Full, or a count whose messages all expired: start over only in the second case.
    const counter: InboxCounterItem = { ...key, messages: 1, bytes, expiresAt: now + ttlSeconds };
    await table.db.send(
      new PutCommand({
        TableName: table.tableName,
        Item: counter,
        ConditionExpression: 'expiresAt <= :now',
        ExpressionAttributeValues: { ':now': now },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error)?.name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/**
 * The count of what still waits after a drain, from the rows it read: a put (or a delete when
 * nothing waits) for the drain's own batch write.
 */
export function inboxCounterAfterDrain(
  peer: PeerIdentity,
  waiting: readonly InboxItem[],
): { put: InboxCounterItem } | { delete: { pk: string; sk: string } } {
  const key = { pk: KEY.inbox(peer), sk: KEY.inboxCounterSort };
  if (waiting.length === 0) return { delete: key };
  return {
    put: {
      ...key,
      messages: waiting.length,
      bytes: waiting.reduce((sum, item) => sum + item.size, 0),
      expiresAt: Math.max(...waiting.map((item) => item.expiresAt)),
    },
  };
}

/** The relay's message id for a v2 sender's message: stable across duplicates. */
export function dedupeMessageId(sender: PeerIdentity, clientMsgId: string): string {
  const hash = createHash('sha256')
    .update(`${sender.type}\n${sender.id}\n${clientMsgId}`)
    .digest('base64url');
  return `c${hash.slice(0, 27)}`;
}

/** Whether a message id names a v2 sender's message (whose key must stay as a dedupe marker). */
export function isDedupeMessageId(messageId: string): boolean {
  return /^c[A-Za-z0-9_-]{27}$/.test(messageId);
}

export function messageIdOf(item: Pick<InboxItem, 'sk' | 'messageId'>): string {
  return item.messageId ?? item.sk.slice(MSG.length);
}

/** The inbox sort key of a message id (an ack names its item; no read needed). */
export function inboxKeyOf(peer: PeerIdentity, messageId: string): { pk: string; sk: string } {
  return { pk: KEY.inbox(peer), sk: `${MSG}${messageId}` };
}

/** Expiry to the millisecond, and its ceiling in seconds for DynamoDB TTL (which deletes late anyway). */
function expiry(nowMs: number, ttlSeconds: number): { expiresAt: number; expiresAtMs: number } {
  const expiresAtMs = nowMs + ttlSeconds * 1000;
  return { expiresAt: Math.ceil(expiresAtMs / 1000), expiresAtMs };
}

/** Whether an item is still live at `nowMs` (items written before `expiresAtMs`: by the second). */
export function isLiveAt(item: Pick<InboxItem, 'expiresAt' | 'expiresAtMs'>, nowMs: number): boolean {
  return (item.expiresAtMs ?? item.expiresAt * 1000) > nowMs;
}

/** A relay notice for `peer` (an error frame it gets once, at its next v2 connection). */
export function noticeItem(
  peer: PeerIdentity,
  frame: string,
  ttlSeconds: number,
  nowMs = Date.now(),
): InboxItem {
  const sk = inboxSortKey(nowMs);
  return {
    pk: KEY.inbox(peer),
    sk,
    frame,
    from: 'relay',
    operationType: 'notice',
    size: Buffer.byteLength(frame),
    storedAt: nowMs,
    ...expiry(nowMs, ttlSeconds),
    order: sk.slice(MSG.length),
    notice: true,
  };
}

/**
 * Marks a message that no connection took as waiting from the start (1 conditional UpdateItem;
 * nothing when it is already gone or was delivered since): its EXPIRED report says so.
 */
export async function markStoredOffline(table: TableRef, key: Pick<InboxItem, 'pk' | 'sk'>): Promise<void> {
  try {
    await table.db.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: 'SET storedOffline = :yes',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deliveredAt)',
        ExpressionAttributeValues: { ':yes': true },
      }),
    );
  } catch (error) {
    if ((error as Error)?.name !== 'ConditionalCheckFailedException') throw error;
  }
}

/** Builds the item for a message to `peer` (not written). */
export function inboxItem(
  peer: PeerIdentity,
  sender: PeerIdentity,
  message: InboxMessage,
  ttlSeconds: number,
  nowMs = Date.now(),
): InboxItem {
  const order = inboxSortKey(nowMs).slice(MSG.length);
  const messageId = message.clientMsgId !== undefined ? dedupeMessageId(sender, message.clientMsgId) : order;
  return {
    pk: KEY.inbox(peer),
    sk: `${MSG}${messageId}`,
    frame: message.frame,
    from: message.from,
    operationType: message.operationType,
    size: message.size,
    storedAt: nowMs,
    ...expiry(nowMs, ttlSeconds),
    messageId,
    ...(message.clientMsgId !== undefined ? { clientMsgId: message.clientMsgId } : {}),
    order,
    ...(message.teams && message.teams.length > 0 ? { teams: message.teams.join(',') } : {}),
    ...(message.teamId !== undefined ? { teamId: message.teamId } : {}),
    ...(message.mapping ? { mapping: message.mapping } : {}),
  };
}

/** What remains of a v2 sender's message once delivered or acknowledged: its key, for dedupe. */
export function markerItem(
  item: Pick<InboxItem, 'pk' | 'sk' | 'from' | 'operationType' | 'storedAt'> & { messageId?: string },
  dedupeTtlSeconds: number,
  nowMs = Date.now(),
): InboxItem {
  return {
    pk: item.pk,
    sk: item.sk,
    messageId: messageIdOf(item),
    from: item.from,
    operationType: item.operationType,
    size: 0,
    storedAt: item.storedAt,
    doneAt: nowMs,
    expiresAt: epochSeconds(nowMs) + dedupeTtlSeconds,
  };
}

/**
 * Writes an item (1 PutItem). `ifNew`: only if no live item has its key (the v2 dedupe check:
 * `attribute_not_exists(pk) OR expiresAt <= now`, since TTL deletes late); answers `duplicate`
 * when one has.
 */
export async function putInboxItem(
  table: TableRef,
  item: InboxItem,
  options: { ifNew?: boolean; nowMs?: number } = {},
): Promise<'written' | 'duplicate'> {
  // A conditional write whose answer was lost (timeout, 500 after the write) is retried by the SDK
  // and would meet its own item: the write id makes that retry succeed instead of reading as a
  // duplicate (a real duplicate, another request, has another write id).
  const written = options.ifNew ? { ...item, writeId: item.writeId ?? randomUUID() } : item;
  for (let attempt = 0; ; attempt++) {
    try {
      await table.db.send(
        new PutCommand({
          TableName: table.tableName,
          Item: written,
          ...(options.ifNew
            ? {
                ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now OR writeId = :writeId',
                ExpressionAttributeValues: {
                  ':now': epochSeconds(options.nowMs),
                  ':writeId': written.writeId,
                },
              }
            : {}),
        }),
      );
      return 'written';
    } catch (error) {
      if (!options.ifNew || (error as Error)?.name !== 'ConditionalCheckFailedException') throw error;
    }
    // A failed condition should mean the message is already kept: make sure before answering
    // `duplicate` (1 GetItem, on this path only), since the sender then drops its copy for good.
    const kept = await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: item.pk, sk: item.sk }, ConsistentRead: true }),
    );
    const existing = kept.Item as InboxItem | undefined;
    if (existing && existing.expiresAt > epochSeconds(options.nowMs)) return 'duplicate';
    if (attempt >= 2) throw new Error('the message write failed its condition although no copy is kept');
  }
}

/** Deletes one item (1 DeleteItem). */
export async function deleteInboxItem(table: TableRef, key: Pick<InboxItem, 'pk' | 'sk'>): Promise<void> {
  await table.db.send(new DeleteCommand({ TableName: table.tableName, Key: { pk: key.pk, sk: key.sk } }));
}

/**
 * Keeps a frame for a peer for `ttlSeconds` (1 PutItem). Returns the stored item. (v1 senders;
 * `sender` makes the key of a v2 sender's message.)
 */
export async function putInboxMessage(
  table: TableRef,
  peer: PeerIdentity,
  message: InboxMessage,
  ttlSeconds: number,
  nowMs = Date.now(),
  sender: PeerIdentity = { type: peer.type === 'cli' ? 'mpc' : 'cli', id: message.from },
): Promise<InboxItem> {
  const item = inboxItem(peer, sender, message, ttlSeconds, nowMs);
  await putInboxItem(table, item);
  return item;
}

function orderOf(item: InboxItem): string {
  return item.order ?? item.sk.slice(MSG.length);
}

/**
 * The peer's waiting messages in stored order (1 Query per page of up to 1 MB, bounded; dedupe
 * markers are filtered out by the server), split into live messages and expired ones (TTL deletes
 * late: expired items must not be delivered).
 */
export async function readInbox(
  table: TableRef,
  peer: PeerIdentity,
  nowMs = Date.now(),
  maxPages = 10,
): Promise<{ live: InboxItem[]; expired: InboxItem[] }> {
  const live: InboxItem[] = [];
  const expired: InboxItem[] = [];
  let startKey: Record<string, unknown> | undefined;
  for (let page = 0; page < maxPages; page++) {
    const result = await table.db.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: 'attribute_exists(#frame)',
        ExpressionAttributeNames: { '#frame': 'frame' },
        ExpressionAttributeValues: { ':pk': KEY.inbox(peer), ':prefix': MSG },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of (result.Items ?? []) as InboxItem[]) {
      (isLiveAt(item, nowMs) ? live : expired).push(item);
    }
    startKey = result.LastEvaluatedKey;
    if (!startKey) break;
  }
  const byOrder = (a: InboxItem, b: InboxItem) =>
    orderOf(a) < orderOf(b) ? -1 : orderOf(a) > orderOf(b) ? 1 : 0;
  live.sort(byOrder);
  expired.sort(byOrder);
  return { live, expired };
}

type WriteRequest =
  | { DeleteRequest: { Key: { pk: string; sk: string } } }
  | { PutRequest: { Item: InboxItem | InboxCounterItem } };

/** Retries of a BatchWriteItem's unprocessed items, with exponential backoff from 20 ms. */
export const BATCH_WRITE_ATTEMPTS = 5;

/**
 * Some items of a batch write were still unprocessed after every retry (DynamoDB throttled them).
 * The items before them in the same call may have been written; these were not.
 */
export class UnprocessedItemsError extends Error {
  override name = 'UnprocessedItemsError';
  constructor(
    readonly unprocessed: { deletes: number; puts: number },
    readonly requested: { deletes: number; puts: number },
  ) {
    super(
      `BatchWriteItem left ${unprocessed.deletes} deletes and ${unprocessed.puts} puts unprocessed after ${BATCH_WRITE_ATTEMPTS} attempts (of ${requested.deletes} deletes and ${requested.puts} puts)`,
    );
  }
}

/**
 * Deletes and (over)writes inbox items (BatchWriteItem, 25 per request, unprocessed items retried
 * BATCH_WRITE_ATTEMPTS times). Items still unprocessed after that are never dropped silently: every
 * chunk is still tried, then the call logs the counts and throws UnprocessedItemsError, so a caller
 * never reports as done what was not written (a lost delete redelivers, a lost put loses nothing
 * the caller claimed).
 */
export async function writeInboxBatch(
  table: TableRef,
  changes: {
    deletes?: readonly Pick<InboxItem, 'pk' | 'sk'>[];
    puts?: readonly (InboxItem | InboxCounterItem)[];
  },
): Promise<void> {
  const all: WriteRequest[] = [
    ...(changes.deletes ?? []).map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
    ...(changes.puts ?? []).map((item) => ({ PutRequest: { Item: item } })),
  ];
  const left = { deletes: 0, puts: 0 };
  for (let start = 0; start < all.length; start += 25) {
    let requests = all.slice(start, start + 25);
    for (let attempt = 0; attempt < BATCH_WRITE_ATTEMPTS && requests.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** (attempt - 1)));
      const result = await table.db.send(
        new BatchWriteCommand({ RequestItems: { [table.tableName]: requests } }),
      );
      requests = (result.UnprocessedItems?.[table.tableName] ?? []) as WriteRequest[];
    }
    for (const request of requests) {
      if ('DeleteRequest' in request) left.deletes += 1;
      else left.puts += 1;
    }
  }
  if (left.deletes > 0 || left.puts > 0) {
    const requested = { deletes: changes.deletes?.length ?? 0, puts: changes.puts?.length ?? 0 };
    logger.error('batch write incomplete: items unprocessed after retries', {
      outcome: 'unprocessed',
      unprocessedDeletes: left.deletes,
      unprocessedPuts: left.puts,
      requestedDeletes: requested.deletes,
      requestedPuts: requested.puts,
    });
    throw new UnprocessedItemsError(left, requested);
  }
}

/** Deletes inbox items (`writeInboxBatch`: throws UnprocessedItemsError when some could not be). */
export async function deleteInboxItems(
  table: TableRef,
  items: readonly Pick<InboxItem, 'pk' | 'sk'>[],
): Promise<void> {
  await writeInboxBatch(table, { deletes: items });
}
