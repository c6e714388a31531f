import { loadConfig } from '../config.js';
import { peerFromContext } from '../events.js';
import { logger } from '../logger.js';
import { documentClient, relayTable } from '../store/client.js';
import { deleteConnection, findConnectionById } from '../store/connections.js';
import { connectionRoute } from '../wrappers/connection-route.js';

documentClient(); // built during the init phase, reused by every invocation

/**
 * `$disconnect`: deletes this connection's record (1 DeleteItem, keyed by the authorizer context);
 * the peer's other connections stay. Without the context (an unauthorized route setup) the record
 * is found through the byType index first. Best effort: a failure is logged (TTL cleans up).
 */
export const handler = connectionRoute(
  { message: 'disconnect cleanup failed', answer: { statusCode: 200 } },
  async (event) => {
    const config = loadConfig();
    const table = relayTable(config);
    const { connectionId, disconnectStatusCode, disconnectReason } = event.requestContext;
    let peer = peerFromContext(event.requestContext);
    if (!peer) {
      const found = await findConnectionById(table, connectionId);
      peer = found ? { type: found.peerType, id: found.peerId } : undefined;
    }
    if (peer) await deleteConnection(table, peer, connectionId);
    logger.info('disconnected', {
      outcome: peer ? 'removed' : 'unknown-connection',
      disconnectStatusCode,
      disconnectReason,
    });
    return { statusCode: 200 };
  },
);
