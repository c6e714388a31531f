// A stored (inbox) message at delivery time, the same whichever job delivers it: relay, drain or
// expiry.
import { PROTOCOL_V2, upgradeToV2Delivery } from '@mpc-relay/protocol';
import { type InboxItem, markerItem, messageIdOf } from '../store/inbox.js';

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
 * What becomes of a stored message once a connection took it: a v2 receiver's copy stays until
 * acknowledged (recording the delivery time, without a deferred mapping: written by then); for a
 * v1 receiver a v2 sender's message becomes a dedupe marker and a v1 sender's is deleted.
 */
export function afterDelivery(
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

/** A stored message's log fields: ids, sizes and times, never the payload. */
export function inboxLogEntry(item: InboxItem) {
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
