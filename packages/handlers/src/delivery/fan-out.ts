import { describeError, logger } from '../logger.js';
import { count } from '../metrics.js';
import { type ConnectionItem, deleteConnection } from '../store/connections.js';
import type { TableRef } from '../store/table.js';
import type { Poster } from './types.js';

/** Counts of one fan-out: connections that took the frame, were gone (410), or failed otherwise. */
export interface FanOutResult {
  delivered: number;
  stale: number;
  failed: number;
}

/** What a post needs of a connection: its id, whose it is (to delete it when stale), its protocol. */
export type ConnectionTarget = Pick<ConnectionItem, 'connectionId' | 'peerType' | 'peerId'> & {
  protocol?: string;
};

/**
 * Posts to every given connection at once (`frame` may depend on the connection: v2 or v1). A
 * 410 (GoneException) marks the connection stale: its record is deleted (1 DeleteItem each, off
 * the hot path). Never throws.
 */
export async function postToConnections(
  table: TableRef,
  poster: Poster,
  connections: readonly ConnectionTarget[],
  frame: string | ((connection: ConnectionTarget) => string),
): Promise<FanOutResult & { tookIt: ConnectionTarget[] }> {
  const result: FanOutResult & { tookIt: ConnectionTarget[] } = {
    delivered: 0,
    stale: 0,
    failed: 0,
    tookIt: [],
  };
  await Promise.all(
    connections.map(async (connection) => {
      const text = typeof frame === 'string' ? frame : frame(connection);
      const outcome = await poster.post(connection.connectionId, text);
      if (outcome.status === 'ok') {
        result.delivered += 1;
        result.tookIt.push(connection);
        return;
      }
      if (outcome.status === 'gone') {
        result.stale += 1;
        await removeStaleConnection(table, connection);
        return;
      }
      result.failed += 1;
      logger.warn('post failed', {
        target: connection.connectionId,
        errorName: outcome.errorName,
        ...(outcome.httpStatus !== undefined ? { httpStatus: outcome.httpStatus } : {}),
        errorMessage: outcome.errorMessage,
      });
    }),
  );
  count('StaleConnections', result.stale);
  count('PostFailures', result.failed);
  return result;
}

/** A 410 (GoneException): the connection's record is deleted (1 DeleteItem); failures are logged. */
async function removeStaleConnection(table: TableRef, connection: ConnectionTarget): Promise<void> {
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
}
