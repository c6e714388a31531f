import type { PeerIdentity } from '@mpc-relay/protocol';
import { describeError, logger } from '../logger.js';
import { count } from '../metrics.js';
import { type ConnectionItem, queryPeerConnections, type Recipient } from '../store/connections.js';
import {
  deleteInboxItem,
  type InboxItem,
  type InboxLimits,
  markStoredOffline,
  messageIdOf,
  putInboxItem,
  reserveInboxSpace,
} from '../store/inbox.js';
import type { TableRef } from '../store/table.js';
import { drainInbox } from './drain.js';
import { type FanOutResult, postToConnections } from './fan-out.js';
import { afterDelivery, frameFor, isV2Connection } from './stored-message.js';
import type { DrainPolicy, Poster } from './types.js';

export type DeliveryOutcome =
  | ({ outcome: 'delivered'; messageId: string } & FanOutResult)
  | ({ outcome: 'stored'; messageId: string; messageKey: string; expiresAt: number } & FanOutResult)
  | ({ outcome: 'duplicate'; messageId: string } & FanOutResult)
  | ({ outcome: 'full'; messageId: string } & FanOutResult);

function counts(fanOut: FanOutResult): FanOutResult {
  return { delivered: fanOut.delivered, stale: fanOut.stale, failed: fanOut.failed };
}

export interface RelayMessageInput {
  target: PeerIdentity;
  /** The target's connections this message may reach (from the sender's Query, or recorded). */
  connections: readonly Recipient[];
  /**
   * Where to look when none of `connections` took it (they were recorded on a route item and are
   * gone): the target's connections now, already filtered. Tried once, before storing.
   */
  fallback?: () => Promise<Recipient[]>;
  /** The message item (`inboxItem`), its key already chosen (deterministic for v2 senders). */
  item: InboxItem;
  /**
   * Outcome of the item's conditional write when the caller already made it (v2 senders write it
   * in parallel with the lookups); undefined when not written yet.
   */
  written?: 'written' | 'duplicate';
  /** Filters the connections of the race re-check (tenant isolation, peers). */
  eligible: (connections: ConnectionItem[]) => ConnectionItem[];
  /** Drain policy for a connection found by the race re-check. */
  drainPolicyFor: (connection: ConnectionItem) => DrainPolicy | undefined;
  dedupeTtlSeconds: number;
  /** What may wait for one receiver (INBOX_MAX_MESSAGES / INBOX_MAX_BYTES) and for how long. */
  inboxLimits: InboxLimits;
  inboxTtlSeconds: number;
}

/**
 * Protocol-aware delivery of one message (the general case of `deliverOrStore`):
 * - v2 connections of the target get the v2 envelope (messageId, clientMsgId, sentAt), v1 ones
 *   the original demo frame, exactly as before;
 * - a message that reaches a v2 connection stays stored until acknowledged (written before the
 *   post, so an ack can never arrive before its item); a v1 sender's message to a v2 receiver
 *   costs that one PutItem more;
 * - a v2 sender's message (written by the caller with its dedupe condition) that only v1
 *   connections took becomes a dedupe marker (1 PutItem);
 * - when no connection took it and there is a `fallback` (a reply posted to its route's recorded
 *   connection, gone since), the target's connections now are tried (1 Query);
 * - when still none took it, it is counted against the receiver's inbox limits (1 UpdateItem;
 *   over them: `full`, nothing stored, a copy the caller wrote removed), stays (or is put) in the
 *   inbox, then the target's connections are Queried again: one that appeared meanwhile (a
 *   reconnect racing this send: its getConnectionId may have drained the inbox before the message
 *   was stored) gets the inbox now.
 */
export async function relayMessage(
  table: TableRef,
  poster: Poster,
  input: RelayMessageInput,
): Promise<DeliveryOutcome> {
  const { item } = input;
  const messageId = messageIdOf(item);
  if (input.written === 'duplicate') {
    return { outcome: 'duplicate', messageId, delivered: 0, stale: 0, failed: 0 };
  }
  let stored = input.written === 'written';
  const tried = new Set<string>();
  const total: FanOutResult = { delivered: 0, stale: 0, failed: 0 };
  let candidates: readonly Recipient[] = input.connections;
  for (let round = 0; round < 2; round++) {
    const fresh = candidates.filter((connection) => !tried.has(connection.connectionId));
    for (const connection of fresh) tried.add(connection.connectionId);
    if (fresh.length > 0) {
      if (!stored && fresh.some(isV2Connection)) {
        await putInboxItem(table, item);
        stored = true;
      }
      const fanOut = await postToConnections(table, poster, fresh, (connection) =>
        frameFor(item, isV2Connection(connection)),
      );
      total.delivered += fanOut.delivered;
      total.stale += fanOut.stale;
      total.failed += fanOut.failed;
      if (fanOut.delivered > 0) {
        count('MessagesDelivered');
        if (stored && !fanOut.tookIt.some(isV2Connection)) {
          // Only v1 connections took it: nothing to wait an ack for.
          const done = afterDelivery(item, false, input.dedupeTtlSeconds);
          if ('put' in done) await putInboxItem(table, done.put);
          else await deleteInboxItem(table, done.delete);
        }
        return { outcome: 'delivered', messageId, ...counts(total) };
      }
    }
    if (round > 0 || !input.fallback || input.connections.length === 0) break;
    logger.info('recorded connection did not take the reply: looking up the target', {
      targetType: input.target.type,
      targetId: input.target.id,
    });
    candidates = await input.fallback();
  }
  const room = await reserveInboxSpace(
    table,
    input.target,
    item.size,
    input.inboxLimits,
    input.inboxTtlSeconds,
  );
  if (!room) {
    if (stored) await deleteInboxItem(table, item);
    count('InboxFull');
    return { outcome: 'full', messageId, ...counts(total) };
  }
  // Waiting from the start: an EXPIRED report can then say it was never delivered.
  if (!stored) await putInboxItem(table, { ...item, storedOffline: true });
  else if (item.clientMsgId !== undefined) await markStoredOffline(table, item);
  count('MessagesStored');
  await recheckConnections(table, poster, input);
  return {
    outcome: 'stored',
    messageId,
    messageKey: item.sk,
    expiresAt: item.expiresAt,
    ...counts(total),
  };
}

/** The race fix: after storing, a connection of the target that was not there before gets the inbox. */
async function recheckConnections(table: TableRef, poster: Poster, input: RelayMessageInput): Promise<void> {
  const known = new Set(input.connections.map((connection) => connection.connectionId));
  const fresh = input
    .eligible(await queryPeerConnections(table, input.target))
    .filter((connection) => !known.has(connection.connectionId));
  for (const connection of fresh) {
    logger.info('target reconnected during the send: draining its inbox to the new connection', {
      target: connection.connectionId,
      protocol: connection.protocol,
    });
    try {
      await drainInbox(
        table,
        poster,
        input.target,
        connection.connectionId,
        input.drainPolicyFor(connection),
        {
          v2: isV2Connection(connection),
          dedupeTtlSeconds: input.dedupeTtlSeconds,
        },
      );
    } catch (error) {
      // The message is stored (the sender is told so): the receiver's next getConnectionId delivers it.
      logger.warn('inbox drain to the reconnected target failed', { ...describeError(error) });
    }
  }
}
