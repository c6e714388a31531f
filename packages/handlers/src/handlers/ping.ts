import { decodeClientFrame, encodePong, hasV2Marker } from '@mpc-relay/protocol';
import { drainInbox } from '../delivery/drain.js';
import { peerFromContext, peersFromContext, teamsFromContext } from '../events.js';
import { answer } from '../invocation.js';
import { describeError, logger } from '../logger.js';
import { drainPolicy } from '../policy.js';
import { relayContext } from '../relay-context.js';
import { documentClient } from '../store/client.js';
import { messageRoute } from '../wrappers/message-route.js';

documentClient(); // built during the init phase, reused by every invocation

/**
 * `ping` (two-way): answers `{"pong": <epoch ms>}`. v1 clients: no DynamoDB, no post.
 * Protocol v2 (`{"action":"ping","v":2}`): the signer library's periodic ping doubles as the
 * redelivery timer: the caller's unacknowledged messages delivered at least REDELIVERY_DELAY_SECONDS
 * ago (or never) are resent first (1 Query; +1 BatchWriteItem per 25 resent, + the posts).
 */
export const handler = messageRoute(async (event) => {
  const decoded = decodeClientFrame(event.body ?? '');
  const peer = peerFromContext(event.requestContext);
  if (decoded.ok && hasV2Marker(decoded.value) && peer) {
    const { config, table, poster } = relayContext(event);
    const receiverTeams = teamsFromContext(event.requestContext);
    try {
      await drainInbox(
        table,
        poster,
        peer,
        event.requestContext.connectionId,
        drainPolicy(config, receiverTeams, peersFromContext(event.requestContext)),
        {
          v2: true,
          redeliveryDelayMs: config.redeliveryDelaySeconds * 1000,
          dedupeTtlSeconds: config.dedupeTtlSeconds,
        },
      );
    } catch (error) {
      // A ping is always answered: redelivery is retried on the next one.
      logger.warn('redelivery check failed', { ...describeError(error) });
    }
  }
  return answer(encodePong());
});
