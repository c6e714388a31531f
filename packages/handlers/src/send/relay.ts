import { ErrorCode, encodeAckResult } from '@mpc-relay/protocol';
import { parsePeerList, parseTeams } from '../comma-lists.js';
import { relayMessage } from '../delivery/relay.js';
import type { Poster } from '../delivery/types.js';
import type { WebSocketResult } from '../events.js';
import { answer } from '../invocation.js';
import { digest, logger } from '../logger.js';
import { drainPolicy } from '../policy.js';
import { refuseSend } from './checked.js';
import type { Lookups } from './lookups.js';
import type { Send } from './types.js';

/**
 * Delivers (or stores) the message, logs the outcome (ids, sizes and a digest, never the payload)
 * and answers the sender: nothing for a v1 sender (as the original demo), an ack result for a v2 sender.
 */
export async function relayAndAnswer(send: Send, poster: Poster, lookups: Lookups): Promise<WebSocketResult> {
  const { request, route, tenancy, config, table } = send;
  const { target } = route;
  const { connections, item } = lookups;
  const clientMsgId = request.frame.clientMsgId;
  const { bytes, sha256 } = digest(item.frame ?? '');
  const result = await relayMessage(table, poster, {
    target,
    connections,
    item,
    ...(lookups.written ? { written: lookups.written } : {}),
    ...(lookups.fallback ? { fallback: lookups.fallback } : {}),
    eligible: tenancy.reachable,
    drainPolicyFor: (connection) =>
      drainPolicy(
        config,
        parseTeams(connection.teams),
        connection.peers === undefined ? undefined : parsePeerList(connection.peers),
      ),
    dedupeTtlSeconds: config.dedupeTtlSeconds,
    inboxLimits: { maxMessages: config.inboxMaxMessages, maxBytes: config.inboxMaxBytes },
    inboxTtlSeconds: config.inboxTtlSeconds,
  });
  if (result.outcome === 'full') {
    await lookups.undo();
    return refuseSend(
      {
        code: ErrorCode.InboxFull,
        message: `${target.type} ${JSON.stringify(target.id)} already has as many messages waiting as this relay keeps (${config.inboxMaxMessages} messages, ${config.inboxMaxBytes} bytes): not stored; retry later`,
      },
      clientMsgId,
      { targetType: target.type, targetId: target.id, bytes, reason: 'inbox full' },
    );
  }
  logger.info('relayed', {
    outcome: result.outcome,
    targetType: target.type,
    targetId: target.id,
    operationType: request.frame.operationType,
    bytes,
    sha256,
    messageId: result.messageId,
    ...(clientMsgId !== undefined ? { clientMsgId } : {}),
    connections: connections.length,
    delivered: result.delivered,
    stale: result.stale,
    failed: result.failed,
    ...(result.outcome === 'stored' ? { messageKey: result.messageKey, expiresAt: result.expiresAt } : {}),
  });
  if (clientMsgId === undefined) return answer();
  return answer(encodeAckResult({ clientMsgId, messageId: result.messageId, status: result.outcome }));
}
