import { type PeerIdentity, PROTOCOL_V2 } from '@mpc-relay/protocol';
import { logger } from '../logger.js';
import { count } from '../metrics.js';
import {
  type InboxCounterItem,
  type InboxItem,
  inboxCounterAfterDrain,
  readInbox,
  writeInboxBatch,
} from '../store/inbox.js';
import { putMapping } from '../store/mappings.js';
import type { TableRef } from '../store/table.js';
import { logExpired, reportExpired } from './expiry.js';
import { afterDelivery, frameFor, inboxLogEntry } from './stored-message.js';
import type { DrainPolicy, Poster } from './types.js';

export interface DrainResult {
  delivered: number;
  expired: number;
  /** Refused by tenant isolation at delivery time (deleted, never delivered). */
  dropped: number;
  remaining: number;
  /** v2: unacknowledged messages not resent because they were delivered less than the delay ago. */
  notDue: number;
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
      // The relay's own report for a v2 sender: given once, to a v2 connection only (v1 has no
      // such frame, and no clientMsgId to name the message by); it waits for the next v2 one.
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

/**
 * v2 redelivery (ping): a message delivered (or, never redelivered, stored) less than
 * `redeliveryDelayMs` ago is not resent yet. Without a delay (a new connection) every one is due.
 */
function isNotDue(item: InboxItem, redeliveryDelayMs: number | undefined, nowMs: number): boolean {
  return redeliveryDelayMs !== undefined && nowMs - (item.deliveredAt ?? item.storedAt) < redeliveryDelayMs;
}
