import { decodeClientFrame, encodeConnectionId, hasV2Marker } from '@mpc-relay/protocol';
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
 * `getConnectionId` (two-way): answers `{"connectionId": ...}`. It is also the moment a returning
 * peer receives what waited for it: the inbox is posted to this connection in order (1 Query +
 * 1 PostToConnection per message + 1 BatchWriteItem per 25 delivered), before the answer. Under
 * tenant isolation a stored message this connection's teams may not receive is dropped (logged).
 * Protocol v2 (`{"action":"getConnectionId","v":2}`): the waiting messages go out as v2 envelopes,
 * every unacknowledged one (a new connection cannot have seen them), and stay until acknowledged
 * (+1 BatchWriteItem per 25 to record the delivery time).
 */
export const handler = messageRoute(async (event) => {
  const { connectionId } = event.requestContext;
  const peer = peerFromContext(event.requestContext);
  if (peer) {
    const { config, table, poster } = relayContext(event);
    const receiverTeams = teamsFromContext(event.requestContext);
    const decoded = decodeClientFrame(event.body ?? '');
    try {
      await drainInbox(
        table,
        poster,
        peer,
        connectionId,
        drainPolicy(config, receiverTeams, peersFromContext(event.requestContext)),
        // `"v":2`: a v2 client (re)connected: every unacknowledged message again, as v2 envelopes.
        { v2: decoded.ok && hasV2Marker(decoded.value), dedupeTtlSeconds: config.dedupeTtlSeconds },
      );
    } catch (error) {
      // The id is always answered: what could not be delivered or cleaned up stays in the inbox and
      // is delivered again at the next getConnectionId (v2 receivers drop what they already have).
      logger.warn('inbox drain failed', { ...describeError(error) });
    }
  } else {
    logger.warn('no authenticated peer on this connection: inbox not checked');
  }
  logger.info('connection id answered', { outcome: 'answered' });
  return answer(encodeConnectionId(connectionId));
});
