import {
  ErrorCode,
  encodeError,
  type PeerIdentity,
  PROTOCOL_V2,
  upgradeToV2Delivery,
} from '@mpc-relay/protocol';
import { describeError, logger } from './logger.js';
import { count } from './metrics.js';
import type { Poster } from './poster.js';
import {
  type ConnectionItem,
  deleteConnection,
  queryPeerConnections,
  type Recipient,
  type TableRef,
} from './store/connections.js';
import {
  deleteInboxItem,
  type InboxCounterItem,
  type InboxItem,
  type InboxLimits,
  inboxCounterAfterDrain,
  markerItem,
  markStoredOffline,
  messageIdOf,
  noticeItem,
  putInboxItem,
  readInbox,
  reserveInboxSpace,
  writeInboxBatch,
} from './store/inbox.js';
import { putMapping } from './store/mappings.js';

export interface FanOutResult {
  delivered: number;
  stale: number;
  failed: number;
}

type Target = Pick<ConnectionItem, 'connectionId' | 'peerType' | 'peerId'> & { protocol?: string };

export type { Recipient };

export function isV2Connection(connection: { protocol?: string }): boolean {
  return connection.protocol === PROTOCOL_V2;
}

/** The text to post for a stored message: the original demo frame, or the v2 envelope around it. */
export function frameFor(item: InboxItem, v2: boolean): string {
  const frame = item.frame ?? '';
  if (!v2) return frame;
  return upgradeToV2Delivery(frame, {
    messageId: messageIdOf(item),
    clientMsgId: item.clientMsgId,
    sentAt: item.storedAt,
  });
}

/**
 * Posts to every given connection at once (`frame` may depend on the connection: v2 or v1). A
 * 410 (GoneException) marks the connection stale: its record is deleted (1 DeleteItem each, off
 * the hot path). Never throws.
 */
export async function postToConnections(
  table: TableRef,
  poster: Poster,
  connections: readonly Target[],
  frame: string | ((connection: Target) => string),
): Promise<FanOutResult & { tookIt: Target[] }> {
  const result: FanOutResult & { tookIt: Target[] } = { delivered: 0, stale: 0, failed: 0, tookIt: [] };
  await Promise.all(
    connections.map(async (connection) => {
      const text = typeof frame === 'string' ? frame : frame(connection);
      const outcome = await poster.post(connection.connectionId, text);
      if (outcome.status === 'ok') {
        result.delivered += 1;
        result.tookIt.push(connection);
        return;
      }
      if (outcome.status === 'gone') {
        result.stale += 1;
        await removeStaleConnection(table, connection);
        return;
      }
      result.failed += 1;
      logger.warn('post failed', {
        target: connection.connectionId,
        errorName: outcome.errorName,
        ...(outcome.httpStatus !== undefined ? { httpStatus: outcome.httpStatus } : {}),
        errorMessage: outcome.errorMessage,
      });
    }),
  );
  count('StaleConnections', result.stale);
  count('PostFailures', result.failed);
  return result;
}

/** A 410 (GoneException): the connection's record is deleted (1 DeleteItem); failures are logged. */
async function removeStaleConnection(table: TableRef, connection: Target): Promise<void> {
  logger.info('stale connection removed', {
    target: connection.connectionId,
    peerType: connection.peerType,
    peerId: connection.peerId,
  });
  try {
    await deleteConnection(
      table,
      { type: connection.peerType, id: connection.peerId },
      connection.connectionId,
    );
  } catch (error) {
    logger.warn('could not delete stale connection', {
      target: connection.connectionId,
      ...describeError(error),
    });
  }
}

/**
 * What becomes of a stored message once a connection took it: a v2 receiver's copy stays until
 * acknowledged (recording the delivery time, without a deferred mapping: written by then); for a
 * v1 receiver a v2 sender's message becomes a dedupe marker and a v1 sender's is deleted.
 */
function afterDelivery(
  item: InboxItem,
  v2Receiver: boolean,
  dedupeTtlSeconds: number,
  nowMs = Date.now(),
): { put: InboxItem } | { delete: InboxItem } {
  if (v2Receiver) {
    const { mapping: _written, ...rest } = item;
    return { put: { ...rest, deliveredAt: nowMs, attempts: (item.attempts ?? 0) + 1 } };
  }
  if (item.clientMsgId !== undefined) return { put: markerItem(item, dedupeTtlSeconds, nowMs) };
  return { delete: item };
}

export type DeliveryOutcome =
  | ({ outcome: 'delivered'; messageId: string } & FanOutResult)
  | ({ outcome: 'stored'; messageId: string; messageKey: string; expiresAt: number } & FanOutResult)
  | ({ outcome: 'duplicate'; messageId: string } & FanOutResult)
  | ({ outcome: 'full'; messageId: string } & FanOutResult);

function counts(fanOut: FanOutResult): FanOutResult {
  return { delivered: fanOut.delivered, stale: fanOut.stale, failed: fanOut.failed };
}

export interface RelayMessageInput {
  target: PeerIdentity;
  /** The target's connections this message may reach (from the sender's Query, or recorded). */
  connections: readonly Recipient[];
  /**
   * Where to look when none of `connections` took it (they were recorded on a route item and are
   * gone): the target's connections now, already filtered. Tried once, before storing.
   */
  fallback?: () => Promise<Recipient[]>;
  /** The message item (`inboxItem`), its key already chosen (deterministic for v2 senders). */
  item: InboxItem;
  /**
   * Outcome of the item's conditional write when the caller already made it (v2 senders write it
   * in parallel with the lookups); undefined when not written yet.
   */
  written?: 'written' | 'duplicate';
  /** Filters the connections of the race re-check (tenant isolation, peers). */
  eligible: (connections: ConnectionItem[]) => ConnectionItem[];
  /** Drain policy for a connection found by the race re-check. */
  drainPolicyFor: (connection: ConnectionItem) => DrainPolicy | undefined;
  dedupeTtlSeconds: number;
  /** What may wait for one receiver (INBOX_MAX_MESSAGES / INBOX_MAX_BYTES) and for how long. */
  inboxLimits: InboxLimits;
  inboxTtlSeconds: number;
}

/**
 * Protocol-aware delivery of one message (the general case of `deliverOrStore`):
 * - v2 connections of the target get the v2 envelope (messageId, clientMsgId, sentAt), v1 ones
 *   the original demo frame, exactly as before;
 * - a message that reaches a v2 connection stays stored until acknowledged (written before the
 *   post, so an ack can never arrive before its item); a v1 sender's message to a v2 receiver
 *   costs that one PutItem more;
 * - a v2 sender's message (written by the caller with its dedupe condition) that only v1
 *   connections took becomes a dedupe marker (1 PutItem);
 * - when no connection took it and there is a `fallback` (a reply posted to its route's recorded
 *   connection, gone since), the target's connections now are tried (1 Query);
 * - when still none took it, it is counted against the receiver's inbox limits (1 UpdateItem;
 *   over them: `full`, nothing stored, a copy the caller wrote removed), stays (or is put) in the
 *   inbox, then the target's connections are Queried again: one that appeared meanwhile (a
 *   reconnect racing this send: its getConnectionId may have drained the inbox before the message
 *   was stored) gets the inbox now.
 */
export async function relayMessage(
  table: TableRef,
  poster: Poster,
  input: RelayMessageInput,
): Promise<DeliveryOutcome> {
  const { item } = input;
  const messageId = messageIdOf(item);
  if (input.written === 'duplicate') {
    return { outcome: 'duplicate', messageId, delivered: 0, stale: 0, failed: 0 };
  }
  let stored = input.written === 'written';
  const tried = new Set<string>();
  const total: FanOutResult = { delivered: 0, stale: 0, failed: 0 };
  let candidates: readonly Recipient[] = input.connections;
  for (let round = 0; round < 2; round++) {
    const fresh = candidates.filter((connection) => !tried.has(connection.connectionId));
    for (const connection of fresh) tried.add(connection.connectionId);
    if (fresh.length > 0) {
      if (!stored && fresh.some(isV2Connection)) {
        await putInboxItem(table, item);
        stored = true;
      }
      const fanOut = await postToConnections(table, poster, fresh, (connection) =>
        frameFor(item, isV2Connection(connection)),
      );
      total.delivered += fanOut.delivered;
      total.stale += fanOut.stale;
      total.failed += fanOut.failed;
      if (fanOut.delivered > 0) {
        count('MessagesDelivered');
        if (stored && !fanOut.tookIt.some(isV2Connection)) {
          // Only v1 connections took it: nothing to wait an ack for.
          const done = afterDelivery(item, false, input.dedupeTtlSeconds);
          if ('put' in done) await putInboxItem(table, done.put);
          else await deleteInboxItem(table, done.delete);
        }
        return { outcome: 'delivered', messageId, ...counts(total) };
      }
    }
    if (round > 0 || !input.fallback || input.connections.length === 0) break;
    logger.info('recorded connection did not take the reply: looking up the target', {
      targetType: input.target.type,
      targetId: input.target.id,
    });
    candidates = await input.fallback();
  }
  const room = await reserveInboxSpace(
    table,
    input.target,
    item.size,
    input.inboxLimits,
    input.inboxTtlSeconds,
  );
  if (!room) {
    if (stored) await deleteInboxItem(table, item);
    count('InboxFull');
    return { outcome: 'full', messageId, ...counts(total) };
  }
  // Waiting from the start: an EXPIRED report can then say it was never delivered.
  if (!stored) await putInboxItem(table, { ...item, storedOffline: true });
  else if (item.clientMsgId !== undefined) await markStoredOffline(table, item);
  count('MessagesStored');
  await recheckConnections(table, poster, input);
  return {
    outcome: 'stored',
    messageId,
    messageKey: item.sk,
    expiresAt: item.expiresAt,
    ...counts(total),
  };
}

/** The race fix: after storing, a connection of the target that was not there before gets the inbox. */
async function recheckConnections(table: TableRef, poster: Poster, input: RelayMessageInput): Promise<void> {
  const known = new Set(input.connections.map((connection) => connection.connectionId));
  const fresh = input
    .eligible(await queryPeerConnections(table, input.target))
    .filter((connection) => !known.has(connection.connectionId));
  for (const connection of fresh) {
    logger.info('target reconnected during the send: draining its inbox to the new connection', {
      target: connection.connectionId,
      protocol: connection.protocol,
    });
    try {
      await drainInbox(
        table,
        poster,
        input.target,
        connection.connectionId,
        input.drainPolicyFor(connection),
        {
          v2: isV2Connection(connection),
          dedupeTtlSeconds: input.dedupeTtlSeconds,
        },
      );
    } catch (error) {
      // The message is stored (the sender is told so): the receiver's next getConnectionId delivers it.
      logger.warn('inbox drain to the reconnected target failed', { ...describeError(error) });
    }
  }
}

export interface DrainResult {
  delivered: number;
  expired: number;
  /** Refused by tenant isolation at delivery time (deleted, never delivered). */
  dropped: number;
  remaining: number;
  /** v2: unacknowledged messages not resent because they were delivered less than the delay ago. */
  notDue: number;
}

function inboxLogEntry(item: InboxItem) {
  return {
    messageKey: item.sk,
    messageId: messageIdOf(item),
    from: item.from,
    operationType: item.operationType,
    bytes: item.size,
    storedAt: item.storedAt,
    expiresAt: item.expiresAt,
    ...(item.deliveredAt !== undefined
      ? { deliveredAt: item.deliveredAt, attempts: item.attempts ?? 1 }
      : {}),
  };
}

/**
 * Tenant isolation at delivery time (messages stored while the receiver was offline): the
 * receiver's teams are those of the draining connection.
 */
export interface DrainPolicy {
  /** Whether a stored message may reach this connection (see `mayReach` in policy.ts). */
  mayReceive(item: InboxItem): boolean;
  /** MAPPING_TTL_SECONDS, for mappings deferred to delivery (`item.mapping`). */
  mappingTtlSeconds: number;
}

export interface DrainOptions {
  /** The connection speaks protocol v2: v2 envelopes, items kept until acknowledged. */
  v2?: boolean;
  /**
   * v2 redelivery on a ping / sendServer: skip messages delivered (or, never redelivered, stored)
   * less than this many ms ago.
   * Undefined (a new connection: getConnectionId, the race re-check): resend every one.
   */
  redeliveryDelayMs?: number;
  /** DEDUPE_TTL_SECONDS: a v2 sender's message delivered to a v1 connection leaves a marker. */
  dedupeTtlSeconds?: number;
  /** How long an EXPIRED report waits for its offline v2 sender. Default 1 day. */
  noticeTtlSeconds?: number;
}

/** Deletes and puts of a drain are written every this many (one BatchWriteItem's worth). */
export const DRAIN_BATCH = 25;

/**
 * Delivers what waits for a peer to one of its connections, in stored order.
 * - v1 connection: the v1 frames; delivered items are deleted (a v2 sender's message leaves a
 *   dedupe marker).
 * - v2 connection: the v2 envelopes; items stay until acknowledged and record the delivery time
 *   (1 BatchWriteItem per 25), so the redelivery delay can skip them on the next frames.
 * Expired items met on the way are logged (ids and sizes, never payloads), deleted, and reported to
 * their v2 sender with an EXPIRED error frame when it is connected. Under tenant isolation a
 * message the receiver may not get is logged and dropped; a deferred mapping is written just
 * before its message is posted. Stops at the first post that fails; the rest stays for next time.
 */
export async function drainInbox(
  table: TableRef,
  poster: Poster,
  peer: PeerIdentity,
  connectionId: string,
  policy?: DrainPolicy,
  options: DrainOptions = {},
): Promise<DrainResult> {
  const now = Date.now();
  const v2 = options.v2 === true;
  const { live, expired } = await readInbox(table, peer, now);
  logExpired(peer, expired);
  const deletes: Pick<InboxItem, 'pk' | 'sk'>[] = [...expired];
  const puts: (InboxItem | InboxCounterItem)[] = [];
  // What a drain did is written batch by batch as it goes: one that dies midway (a crash, a
  // timeout) leaves at most one batch of delivered messages to be delivered again.
  const written = new Set<string>();
  const flush = async () => {
    await writeInboxBatch(table, { deletes: deletes.splice(0), puts: puts.splice(0) });
  };
  let delivered = 0;
  let dropped = 0;
  let notDue = 0;
  let notices = 0;
  for (const item of live) {
    if (deletes.length + puts.length >= DRAIN_BATCH) {
      for (const done of [...deletes, ...puts]) written.add(done.sk);
      await flush();
    }
    if (item.notice) {
      // The relay's own report for a v2 sender: given once, to a v2 connection only.
      if (!v2) continue;
      const outcome = await poster.post(connectionId, item.frame ?? '');
      if (outcome.status !== 'ok') break;
      notices += 1;
      deletes.push(item);
      continue;
    }
    if (policy && !policy.mayReceive(item)) {
      logger.warn('inbox message dropped: tenant isolation', {
        outcome: 'dropped',
        peerType: peer.type,
        peerId: peer.id,
        ...(item.teamId !== undefined ? { teamId: item.teamId } : {}),
        ...inboxLogEntry(item),
      });
      dropped += 1;
      deletes.push(item);
      continue;
    }
    if (v2 && isNotDue(item, options.redeliveryDelayMs, now)) {
      notDue += 1;
      continue;
    }
    if (item.mapping && policy) {
      await putMapping(table, item.mapping.cliId, item.mapping.mpcId, policy.mappingTtlSeconds);
    }
    const outcome = await poster.post(connectionId, frameFor(item, v2));
    if (outcome.status !== 'ok') {
      logger.warn('inbox delivery interrupted', {
        peerType: peer.type,
        peerId: peer.id,
        status: outcome.status,
        ...(outcome.status === 'failed' ? { errorName: outcome.errorName } : {}),
        ...inboxLogEntry(item),
      });
      break;
    }
    delivered += 1;
    const done = afterDelivery(item, v2, options.dedupeTtlSeconds ?? 3600, now);
    if ('put' in done) puts.push(done.put);
    else deletes.push(done.delete);
  }
  if (deletes.length > 0 || puts.length > 0 || written.size > 0) {
    // What still waits, counted from the rows just read, rides on the last batch (inbox limits).
    const gone = new Set([...written, ...deletes.map((item) => item.sk)]);
    const kept = new Set(
      puts.filter((item) => !('frame' in item) || item.frame === undefined).map((item) => item.sk),
    );
    const waiting = live.filter((item) => !item.notice && !gone.has(item.sk) && !kept.has(item.sk));
    const counter = inboxCounterAfterDrain(peer, waiting);
    if ('delete' in counter) deletes.push(counter.delete);
    else puts.push(counter.put);
    await flush();
  }
  count('InboxDelivered', delivered);
  count('InboxDropped', dropped);
  const result = {
    delivered,
    expired: expired.length,
    dropped,
    remaining: live.length - delivered - dropped - notices,
    notDue,
  };
  if (live.length > 0 || expired.length > 0) {
    logger.info('inbox drained', { protocol: v2 ? PROTOCOL_V2 : 'v1', ...result });
  }
  const reportable = expired.filter((item) => !item.notice);
  if (reportable.length > 0) await reportExpired(table, poster, peer, reportable, options.noticeTtlSeconds);
  return result;
}

/** Expired items met by a drain: logged (ids and sizes, never payloads); deleted by the caller. */
function logExpired(peer: PeerIdentity, expired: readonly InboxItem[]): void {
  for (const item of expired) {
    logger.warn('inbox message expired undelivered', {
      outcome: 'expired',
      peerType: peer.type,
      peerId: peer.id,
      ...inboxLogEntry(item),
    });
  }
  count('InboxExpired', expired.length);
}

/**
 * v2 redelivery (ping): a message delivered (or, never redelivered, stored) less than
 * `redeliveryDelayMs` ago is not resent yet. Without a delay (a new connection) every one is due.
 */
function isNotDue(item: InboxItem, redeliveryDelayMs: number | undefined, nowMs: number): boolean {
  return redeliveryDelayMs !== undefined && nowMs - (item.deliveredAt ?? item.storedAt) < redeliveryDelayMs;
}

/**
 * Tells the v2 senders of expired messages, when connected: an `EXPIRED` error frame with the
 * message's `clientMsgId`, posted to each of the sender's v2 connections (1 Query per sender).
 * v1 senders gave no clientMsgId and get nothing (no unsolicited frames for v1 clients).
 */
export async function reportExpired(
  table: TableRef,
  poster: Poster,
  receiver: PeerIdentity,
  expired: readonly InboxItem[],
  noticeTtlSeconds = 86_400,
): Promise<number> {
  const bySender = new Map<string, InboxItem[]>();
  for (const item of expired) {
    if (item.clientMsgId === undefined) continue;
    bySender.set(item.from, [...(bySender.get(item.from) ?? []), item]);
  }
  let reported = 0;
  const senderType = receiver.type === 'cli' ? 'mpc' : 'cli';
  for (const [from, items] of bySender) {
    try {
      const connections = (await queryPeerConnections(table, { type: senderType, id: from })).filter(
        isV2Connection,
      );
      for (const item of items) {
        const receiverName = `${receiver.type} ${receiver.id}`;
        const neverDelivered = item.storedOffline === true && item.deliveredAt === undefined;
        const frame = encodeError({
          code: ErrorCode.Expired,
          message: neverDelivered
            ? `your message ${messageIdOf(item)} to ${receiverName} expired undelivered: ${receiverName} did not connect before it expired`
            : `your message ${messageIdOf(item)} to ${receiverName} expired unacknowledged: it was delivered to ${receiverName}, which did not acknowledge it before it expired`,
          action: 'sendServer',
          clientMsgId: item.clientMsgId,
        });
        const result = await postToConnections(table, poster, connections, frame);
        if (result.delivered > 0) reported += 1;
        // Offline: the report waits in the sender's own inbox for its next v2 connection.
        else await putInboxItem(table, noticeItem({ type: senderType, id: from }, frame, noticeTtlSeconds));
        logger.info('expiry reported to the sender', {
          outcome: result.delivered > 0 ? 'reported' : 'sender offline: kept for its return',
          senderType,
          senderId: from,
          messageId: messageIdOf(item),
          clientMsgId: item.clientMsgId,
        });
      }
    } catch (error) {
      logger.warn('could not report expired messages', { senderId: from, ...describeError(error) });
    }
  }
  return reported;
}
