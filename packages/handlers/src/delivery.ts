import type { PeerIdentity } from '@mpc-relay/protocol';
import { describeError, logger } from './logger.js';
import { count } from './metrics.js';
import type { Poster } from './poster.js';
import { type ConnectionItem, deleteConnection, type TableRef } from './store/connections.js';
import {
  deleteInboxItems,
  type InboxItem,
  type InboxMessage,
  putInboxMessage,
  readInbox,
} from './store/inbox.js';
import { putMapping } from './store/mappings.js';

export interface FanOutResult {
  delivered: number;
  stale: number;
  failed: number;
}

/**
 * Posts one frame to every given connection at once. A 410 (GoneException) marks the connection
 * stale: its record is deleted (1 DeleteItem each, off the hot path). Never throws.
 */
export async function postToConnections(
  table: TableRef,
  poster: Poster,
  connections: readonly Pick<ConnectionItem, 'connectionId' | 'peerType' | 'peerId'>[],
  frame: string,
): Promise<FanOutResult> {
  const result: FanOutResult = { delivered: 0, stale: 0, failed: 0 };
  await Promise.all(
    connections.map(async (connection) => {
      const outcome = await poster.post(connection.connectionId, frame);
      if (outcome.status === 'ok') {
        result.delivered += 1;
        return;
      }
      if (outcome.status === 'gone') {
        result.stale += 1;
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
        return;
      }
      result.failed += 1;
      logger.warn('post failed', { target: connection.connectionId, errorName: outcome.errorName });
    }),
  );
  count('StaleConnections', result.stale);
  count('PostFailures', result.failed);
  return result;
}

export type DeliveryOutcome =
  | ({ outcome: 'delivered' } & FanOutResult)
  | ({ outcome: 'stored'; messageKey: string; expiresAt: number } & FanOutResult);

/**
 * Delivers a frame to every live connection of the target peer; when none took it (offline, all
 * stale, or all failing) the frame is kept in the peer's inbox with a TTL (1 PutItem) and delivered
 * when the peer is back. Nothing is dropped silently.
 */
export async function deliverOrStore(
  table: TableRef,
  poster: Poster,
  target: PeerIdentity,
  connections: readonly ConnectionItem[],
  message: InboxMessage,
  inboxTtlSeconds: number,
): Promise<DeliveryOutcome> {
  const fanOut = await postToConnections(table, poster, connections, message.frame);
  if (fanOut.delivered > 0) {
    count('MessagesDelivered');
    return { outcome: 'delivered', ...fanOut };
  }
  const stored = await putInboxMessage(table, target, message, inboxTtlSeconds);
  count('MessagesStored');
  return { outcome: 'stored', messageKey: stored.sk, expiresAt: stored.expiresAt, ...fanOut };
}

export interface DrainResult {
  delivered: number;
  expired: number;
  /** Refused by tenant isolation at delivery time (deleted, never delivered). */
  dropped: number;
  remaining: number;
}

function inboxLogEntry(item: InboxItem) {
  return {
    messageKey: item.sk,
    from: item.from,
    operationType: item.operationType,
    bytes: item.size,
    storedAt: item.storedAt,
    expiresAt: item.expiresAt,
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

/**
 * Delivers what waited for a peer to one of its connections, in stored order, then deletes what was
 * delivered (and expired items met on the way, logged as expired: ids and sizes, never payloads).
 * Under tenant isolation a message the receiver may not get (no shared team, or not its `teamId`)
 * is logged and dropped, never delivered; a deferred mapping is written just before its message is
 * posted (so the cli's answer finds it). Stops at the first post that fails; the rest stays for
 * the next time.
 */
export async function drainInbox(
  table: TableRef,
  poster: Poster,
  peer: PeerIdentity,
  connectionId: string,
  policy?: DrainPolicy,
): Promise<DrainResult> {
  const { live, expired } = await readInbox(table, peer);
  for (const item of expired) {
    logger.warn('inbox message expired undelivered', {
      peerType: peer.type,
      peerId: peer.id,
      ...inboxLogEntry(item),
    });
  }
  count('InboxExpired', expired.length);
  const done: InboxItem[] = [...expired];
  let delivered = 0;
  let dropped = 0;
  for (const item of live) {
    if (policy && !policy.mayReceive(item)) {
      logger.warn('inbox message dropped: tenant isolation', {
        outcome: 'dropped',
        peerType: peer.type,
        peerId: peer.id,
        ...(item.teamId !== undefined ? { teamId: item.teamId } : {}),
        ...inboxLogEntry(item),
      });
      dropped += 1;
      done.push(item);
      continue;
    }
    if (item.mapping && policy) {
      await putMapping(table, item.mapping.cliId, item.mapping.mpcId, policy.mappingTtlSeconds);
    }
    const outcome = await poster.post(connectionId, item.frame);
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
    done.push(item);
  }
  if (done.length > 0) await deleteInboxItems(table, done);
  count('InboxDelivered', delivered);
  count('InboxDropped', dropped);
  const remaining = live.length - delivered - dropped;
  if (live.length > 0 || expired.length > 0) {
    logger.info('inbox drained', { delivered, expired: expired.length, dropped, remaining });
  }
  return { delivered, expired: expired.length, dropped, remaining };
}
