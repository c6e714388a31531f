import { createHash } from 'node:crypto';
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
  /**
   * A cli's routes back: pk `MAP#<cliId>`, holding its latest mapping (sk `MAP`: the mpc that last
   * sent it a message naming no conversation) and one item per conversation (sk `conversationSort`).
   */
  mapping: (cliId: string) => `MAP#${cliId}`,
  mappingSort: 'MAP',
  /**
   * Sort key of a cli's conversation: `CONV#<key>`, or `CONVH#<sha256 of the key>` for a key over
   * CONVERSATION_KEY_MAX_BYTES (a transactionId may be long; a sort key holds at most 1 KiB).
   */
  conversationSort: (key: string) =>
    Buffer.byteLength(key, 'utf8') <= CONVERSATION_KEY_MAX_BYTES
      ? `CONV#${key}`
      : `CONVH#${createHash('sha256').update(key, 'utf8').digest('base64url')}`,
  conversationPrefix: 'CONV',
  /** Messages waiting for an offline peer: `INBOX#<type>#<peerId>`. */
  inbox: (peer: PeerIdentity) => `INBOX#${peer.type}#${peer.id}`,
  inboxPrefix: 'MSG#',
  /** The count of what waits in an inbox (same partition, outside the `MSG#` range). */
  inboxCounterSort: 'COUNT',
} as const;

/** Longest conversation key kept as is in a sort key; longer ones are hashed. */
export const CONVERSATION_KEY_MAX_BYTES = 256;

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
