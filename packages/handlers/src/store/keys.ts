import type { PeerIdentity, PeerType } from '@mpc-relay/protocol';

/**
 * Keys of the single-table design (see README "Table design"). Every lookup on a message path is a
 * GetItem or a Query on one partition; the sparse `byType` index holds connection items only.
 */
export const KEY = {
  /** Partition of a peer's connections: `PEER#<type>#<peerId>`. */
  peer: (peer: PeerIdentity) => `PEER#${peer.type}#${peer.id}`,
  /** Sort key of one connection: `CONN#<connectionId>`. */
  connection: (connectionId: string) => `CONN#${connectionId}`,
  connectionPrefix: 'CONN#',
  /** byType GSI partition of every connection of one type: `CONNS#<type>`. */
  connectionsOfType: (type: PeerType) => `CONNS#${type}`,
  /** The mpc a cli answers to: pk `MAP#<cliId>`, sk `MAP`. */
  mapping: (cliId: string) => `MAP#${cliId}`,
  mappingSort: 'MAP',
  /** Messages waiting for an offline peer: `INBOX#<type>#<peerId>`. */
  inbox: (peer: PeerIdentity) => `INBOX#${peer.type}#${peer.id}`,
  inboxPrefix: 'MSG#',
} as const;

export const GSI_BY_TYPE = 'byType';
export const TTL_ATTRIBUTE = 'expiresAt';

let sequence = 0;

/**
 * Sort key of an inbox message: `MSG#<ms, 15 digits>#<per-container sequence>#<random>`, so a
 * Query returns waiting messages in the order they were stored.
 */
export function inboxSortKey(nowMs = Date.now()): string {
  sequence = (sequence + 1) % 1_000_000;
  const random = Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `${KEY.inboxPrefix}${String(nowMs).padStart(15, '0')}#${String(sequence).padStart(6, '0')}#${random}`;
}
