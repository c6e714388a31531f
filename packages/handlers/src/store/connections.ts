import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { PeerIdentity, PeerType } from '@mpc-relay/protocol';
import { epochSeconds } from '../config.js';
import { GSI_BY_TYPE, KEY } from './keys.js';
import type { TableRef } from './table.js';

/** A connection of a peer: pk `PEER#<type>#<peerId>`, sk `CONN#<connectionId>`. */
export interface ConnectionItem {
  pk: string;
  sk: string;
  connectionId: string;
  peerType: PeerType;
  peerId: string;
  /** Epoch ms (API Gateway's connectedAt). */
  connectedAt: number;
  /** Epoch seconds; DynamoDB TTL. */
  expiresAt: number;
  /** `v1` (the original demo's frames) or the negotiated subprotocol, e.g. `mpc-relay.v2`. */
  protocol: string;
  /**
   * Teams the peer serves on this connection (comma string, from the token through the authorizer
   * context); absent when none. Tenant isolation reads it from the target Query, no extra request.
   */
  teams?: string;
  /**
   * The token's `peers` claim (comma string; `""` when it lists none): the only counterparts whose
   * messages this connection receives. Absent when the token has no such claim.
   */
  peers?: string;
  gsi1pk: string;
  gsi1sk: string;
}

/** What a delivery needs of a connection (a Queried item, or one recorded on a route item). */
export type Recipient = Pick<ConnectionItem, 'connectionId' | 'peerType' | 'peerId' | 'protocol'> &
  Partial<Pick<ConnectionItem, 'teams' | 'peers'>>;

export function connectionItem(
  peer: PeerIdentity,
  connectionId: string,
  options: {
    connectedAt: number;
    ttlSeconds: number;
    protocol: string;
    teams?: readonly string[];
    peers?: readonly string[] | undefined;
    nowMs?: number;
  },
): ConnectionItem {
  return {
    pk: KEY.peer(peer),
    sk: KEY.connection(connectionId),
    connectionId,
    peerType: peer.type,
    peerId: peer.id,
    connectedAt: options.connectedAt,
    expiresAt: epochSeconds(options.nowMs) + options.ttlSeconds,
    protocol: options.protocol,
    ...(options.teams && options.teams.length > 0 ? { teams: options.teams.join(',') } : {}),
    ...(options.peers !== undefined ? { peers: options.peers.join(',') } : {}),
    gsi1pk: KEY.connectionsOfType(peer.type),
    gsi1sk: connectionId,
  };
}

/** Records a connection (1 PutItem). */
export async function putConnection(table: TableRef, item: ConnectionItem): Promise<void> {
  await table.db.send(new PutCommand({ TableName: table.tableName, Item: item }));
}

/** Removes one connection of a peer (1 DeleteItem); the peer's other connections stay. */
export async function deleteConnection(
  table: TableRef,
  peer: PeerIdentity,
  connectionId: string,
): Promise<void> {
  await table.db.send(
    new DeleteCommand({
      TableName: table.tableName,
      Key: { pk: KEY.peer(peer), sk: KEY.connection(connectionId) },
    }),
  );
}

/**
 * Live connections of a peer (1 Query, strongly consistent, on one partition). Expired records are
 * filtered out: DynamoDB's TTL deletes them late.
 */
export async function queryPeerConnections(
  table: TableRef,
  peer: PeerIdentity,
  nowMs = Date.now(),
): Promise<ConnectionItem[]> {
  const items: ConnectionItem[] = [];
  let startKey: Record<string, unknown> | undefined;
  // A peer has a handful of connections: one page in practice; bounded anyway.
  for (let page = 0; page < 10; page++) {
    const result = await table.db.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: 'expiresAt > :now',
        ExpressionAttributeValues: {
          ':pk': KEY.peer(peer),
          ':prefix': KEY.connectionPrefix,
          ':now': epochSeconds(nowMs),
        },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...((result.Items ?? []) as ConnectionItem[]));
    startKey = result.LastEvaluatedKey;
    if (!startKey) break;
  }
  return items;
}

/**
 * Every live connection of one type, from the sparse `byType` GSI (Query, not Scan: a Scan would
 * read and bill every mapping and inbox item of the table; the GSI holds connection items only,
 * so the cost is proportional to the connected peers of that type). Pages are bounded.
 */
export async function queryConnectionsOfType(
  table: TableRef,
  type: PeerType,
  nowMs = Date.now(),
  maxPages = 1000,
): Promise<ConnectionItem[]> {
  const items: ConnectionItem[] = [];
  let startKey: Record<string, unknown> | undefined;
  for (let page = 0; page < maxPages; page++) {
    const result = await table.db.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: GSI_BY_TYPE,
        KeyConditionExpression: 'gsi1pk = :pk',
        FilterExpression: 'expiresAt > :now',
        ExpressionAttributeValues: { ':pk': KEY.connectionsOfType(type), ':now': epochSeconds(nowMs) },
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...((result.Items ?? []) as ConnectionItem[]));
    startKey = result.LastEvaluatedKey;
    if (!startKey) break;
  }
  return items;
}

/**
 * Finds a connection's record by its id alone through the byType GSI (at most 2 Queries). Only for
 * `$disconnect` events that lack the authorizer context; the normal path needs no lookup.
 */
export async function findConnectionById(
  table: TableRef,
  connectionId: string,
): Promise<ConnectionItem | undefined> {
  for (const type of ['cli', 'mpc'] as const) {
    const result = await table.db.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: GSI_BY_TYPE,
        KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk = :id',
        ExpressionAttributeValues: { ':pk': KEY.connectionsOfType(type), ':id': connectionId },
      }),
    );
    const item = result.Items?.[0];
    if (item) return item as ConnectionItem;
  }
  return undefined;
}
