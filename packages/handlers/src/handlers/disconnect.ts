import type { Context } from 'aws-lambda';
import { loadConfig } from '../config.js';
import { peerFromContext, type WebSocketEvent, type WebSocketResult } from '../events.js';
import { beginInvocation } from '../invocation.js';
import { describeError, logger } from '../logger.js';
import { flushMetrics } from '../metrics.js';
import { documentClient } from '../store/client.js';
import { deleteConnection, findConnectionById } from '../store/connections.js';

documentClient(); // built during the init phase, reused by every invocation

/**
 * `$disconnect`: deletes this connection's record (1 DeleteItem, keyed by the authorizer context);
 * the peer's other connections stay. Without the context (an unauthorized route setup) the record
 * is found through the byType index first. Best effort: a failure is logged (TTL cleans up).
 */
export async function handler(event: WebSocketEvent, context?: Context): Promise<WebSocketResult> {
  try {
    beginInvocation(event, context);
    const config = loadConfig();
    const table = { db: documentClient(config.dynamodbEndpoint, config.region), tableName: config.tableName };
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
  } catch (error) {
    logger.error('disconnect cleanup failed', { outcome: 'internal', ...describeError(error) });
  } finally {
    flushMetrics();
  }
  return { statusCode: 200 };
}
