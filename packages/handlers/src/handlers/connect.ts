import { ErrorCode, encodeError, PROTOCOL_V2, parseConnectParams } from '@mpc-relay/protocol';
import { loadConfig } from '../config.js';
import {
  offeredProtocols,
  peerFromContext,
  peersFromContext,
  teamsFromContext,
  type WebSocketResult,
} from '../events.js';
import { logger } from '../logger.js';
import { count } from '../metrics.js';
import { documentClient, relayTable } from '../store/client.js';
import { connectionItem, putConnection, queryPeerConnections } from '../store/connections.js';
import { connectionRoute } from '../wrappers/connection-route.js';

documentClient(); // built during the init phase, reused by every invocation

/**
 * `$connect`: validates `type` and `cliId`/`mpcId` (400 with an error frame body otherwise, nothing
 * stored), checks the query names the peer the authorizer authenticated (403 otherwise), records
 * the connection and answers 200. MAX_CONNECTIONS_PER_PEER (default 10): the peer's live connections
 * are Queried first and one more is refused with 429 (logged with the count): 1 Query + 1 PutItem,
 * 1 PutItem with the limit off. A client offering the `mpc-relay.v2` subprotocol gets
 * it echoed and the connection is recorded with `protocol: 'mpc-relay.v2'`.
 * Nothing can be posted to the caller here (AWS answers 410 until the handshake completes): waiting
 * messages are delivered at its `getConnectionId`.
 */
export const handler = connectionRoute(
  {
    message: 'connect failed',
    answer: {
      statusCode: 500,
      body: encodeError({ code: ErrorCode.Internal, message: 'the relay could not record the connection' }),
    },
  },
  async (event): Promise<WebSocketResult> => {
    const parsed = parseConnectParams(event.queryStringParameters);
    if (!parsed.ok) {
      logger.info('connect refused', { outcome: 'refused', statusCode: 400, reason: parsed.error.message });
      return { statusCode: 400, body: encodeError(parsed.error) };
    }
    const peer = parsed.value;
    const authenticated = peerFromContext(event.requestContext);
    if (authenticated && (authenticated.type !== peer.type || authenticated.id !== peer.id)) {
      logger.warn('connect refused: query names another peer than the authorizer', {
        outcome: 'refused',
        statusCode: 403,
        queryPeerType: peer.type,
        queryPeerId: peer.id,
      });
      return {
        statusCode: 403,
        body: encodeError({
          code: ErrorCode.Forbidden,
          message: 'the connect query does not match your credentials',
        }),
      };
    }
    const config = loadConfig();
    const v2 = offeredProtocols(event.headers).includes(PROTOCOL_V2);
    const { connectionId, connectedAt } = event.requestContext;
    const table = relayTable(config);
    if (config.maxConnectionsPerPeer > 0) {
      const live = (await queryPeerConnections(table, peer)).filter(
        (connection) => connection.connectionId !== connectionId,
      );
      if (live.length >= config.maxConnectionsPerPeer) {
        count('ConnectionsOverLimit');
        logger.warn('connect refused: too many live connections for this peer', {
          outcome: 'refused',
          statusCode: 429,
          reason: 'MAX_CONNECTIONS_PER_PEER',
          liveConnections: live.length,
          limit: config.maxConnectionsPerPeer,
        });
        return {
          statusCode: 429,
          body: encodeError({
            code: ErrorCode.Throttled,
            message: `${peer.type} ${JSON.stringify(peer.id)} already has ${live.length} live connections; this relay allows ${config.maxConnectionsPerPeer} per peer`,
          }),
        };
      }
    }
    // The peer's teams and peers (jwt claims) ride on the connection item, so the sender's target
    // Query already returns them (tenant isolation and pairing without an extra request).
    const teams = authenticated ? teamsFromContext(event.requestContext) : [];
    const peers = authenticated ? peersFromContext(event.requestContext) : undefined;
    await putConnection(
      table,
      connectionItem(peer, connectionId, {
        connectedAt: connectedAt ?? Date.now(),
        ttlSeconds: config.connectionTtlSeconds,
        protocol: v2 ? PROTOCOL_V2 : 'v1',
        teams,
        peers,
      }),
    );
    logger.info('connected', {
      outcome: 'connected',
      peerType: peer.type,
      peerId: peer.id,
      protocol: v2 ? PROTOCOL_V2 : 'v1',
      ...(teams.length > 0 ? { teams: teams.join(',') } : {}),
    });
    return v2 ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': PROTOCOL_V2 } } : { statusCode: 200 };
  },
);
