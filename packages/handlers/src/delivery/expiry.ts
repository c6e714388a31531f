import { ErrorCode, encodeError, type PeerIdentity } from '@mpc-relay/protocol';
import { describeError, logger } from '../logger.js';
import { count } from '../metrics.js';
import { queryPeerConnections } from '../store/connections.js';
import { type InboxItem, messageIdOf, noticeItem, putInboxItem } from '../store/inbox.js';
import type { TableRef } from '../store/table.js';
import { postToConnections } from './fan-out.js';
import { inboxLogEntry, isV2Connection } from './stored-message.js';
import type { Poster } from './types.js';

/** Expired items met by a drain: logged (ids and sizes, never payloads); deleted by the caller. */
export function logExpired(peer: PeerIdentity, expired: readonly InboxItem[]): void {
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
