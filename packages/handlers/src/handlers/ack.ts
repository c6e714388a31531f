import { decodeClientFrame, ErrorCode } from '@mpc-relay/protocol';
import { epochSeconds } from '../config.js';
import { peerFromContext } from '../events.js';
import { answer, errorAnswer } from '../invocation.js';
import { logger } from '../logger.js';
import { relayContext } from '../relay-context.js';
import { documentClient } from '../store/client.js';
import { type InboxItem, inboxKeyOf, isDedupeMessageId, writeInboxBatch } from '../store/inbox.js';
import { messageRoute } from '../wrappers/message-route.js';

documentClient(); // built during the init phase, reused by every invocation

/**
 * `ack` (two-way, protocol v2): `{"action":"ack","messageIds":[...]}` acknowledges messages the
 * caller received; they are not redelivered. Only the caller's own inbox is touched (its identity
 * comes from the authorizer, the ids name items in `INBOX#<its type>#<its id>`), so no read is
 * needed: 1 BatchWriteItem per 25 ids. A v2 sender's message leaves a dedupe marker (its key, no
 * payload, DEDUPE_TTL_SECONDS); a v1 sender's is deleted. Acknowledging an unknown or already
 * acknowledged id is harmless (idempotent). Success answers nothing; a malformed ack gets
 * INVALID_JSON / INVALID_FRAME.
 */
export const handler = messageRoute(async (event) => {
  const decoded = decodeClientFrame(event.body ?? '');
  if (!decoded.ok) return errorAnswer({ ...decoded.error, action: 'ack' });
  if (decoded.value.action !== 'ack') {
    return errorAnswer({
      code: ErrorCode.InvalidFrame,
      message: `this route takes action "ack", not ${JSON.stringify(decoded.value.action)}`,
      issues: [{ path: 'action', message: 'must be "ack"' }],
      action: 'ack',
    });
  }
  const peer = peerFromContext(event.requestContext);
  if (!peer) {
    logger.error('ack on a connection without authorizer context: check the $connect authorizer');
    return errorAnswer({
      code: ErrorCode.Forbidden,
      message: 'this connection carries no authenticated identity',
      action: 'ack',
    });
  }
  const { config, table } = relayContext(event);
  const now = Date.now();
  const ids = [...new Set(decoded.value.messageIds)];
  const deletes: { pk: string; sk: string }[] = [];
  const puts: InboxItem[] = [];
  for (const messageId of ids) {
    const key = inboxKeyOf(peer, messageId);
    if (isDedupeMessageId(messageId)) {
      // A marker: the key and its dedupe window only (no frame, so it is never delivered again).
      puts.push({
        ...key,
        messageId,
        storedAt: now,
        doneAt: now,
        expiresAt: epochSeconds(now) + config.dedupeTtlSeconds,
      } as InboxItem);
    } else {
      deletes.push(key);
    }
  }
  await writeInboxBatch(table, { deletes, puts });
  logger.info('acknowledged', { outcome: 'acked', messageIds: ids.slice(0, 100) });
  return answer();
});
