import { encodeConnectionId } from '@mpc-relay/protocol';
import { drainInbox } from '../delivery.js';
import { peerFromContext } from '../events.js';
import { answer, messageRoute } from '../invocation.js';
import { logger } from '../logger.js';
import { relayContext } from '../relay-context.js';
import { documentClient } from '../store/client.js';

documentClient(); // built during the init phase, reused by every invocation

/**
 * `getConnectionId` (two-way): answers `{"connectionId": ...}`. It is also the moment a returning
 * peer receives what waited for it: the inbox is posted to this connection in order (1 Query +
 * 1 PostToConnection per message + 1 BatchWriteItem per 25 delivered), before the answer.
 */
export const handler = messageRoute(async (event) => {
  const { connectionId } = event.requestContext;
  const peer = peerFromContext(event.requestContext);
  if (peer) {
    const { table, poster } = relayContext(event);
    await drainInbox(table, poster, peer, connectionId);
  } else {
    logger.warn('no authenticated peer on this connection: inbox not checked');
  }
  logger.info('connection id answered', { outcome: 'answered' });
  return answer(encodeConnectionId(connectionId));
});
