import { ErrorCode } from '@mpc-relay/protocol';
import { crossTeamRefusal } from '../policy.js';
import { queryPeerConnections, type Recipient } from '../store/connections.js';
import { putRoute, type RouteItem, type RouteWrite, undoRoute } from '../store/conversations.js';
import {
  deleteInboxItem,
  type InboxItem,
  type InboxMessage,
  inboxItem,
  putInboxItem,
} from '../store/inbox.js';
import { accepted, type Checked, refused, refuseSend, sendError } from './checked.js';
import type { Send } from './types.js';

/** What the delivery starts from. */
export interface Lookups {
  /** The target's connections this message may reach (Queried, or recorded on the route item). */
  connections: Recipient[];
  /**
   * A reply posted to the connection its route item recorded: where to look when that one is gone
   * (the Query of the mpc's connections, filtered like the Query of a send).
   */
  fallback?: () => Promise<Recipient[]>;
  /** The message's item (its key already chosen: deterministic for v2 senders). */
  item: InboxItem;
  /** v2 senders: the outcome of the item's conditional write, made with the lookups. */
  written?: 'written' | 'duplicate';
  /** Undoes the route write when the send is refused later (INBOX_FULL). */
  undo(): Promise<void>;
}

/**
 * The DynamoDB requests before the delivery: mpc -> cli writes its route item (conversation or
 * latest mapping) and Queries the cli's connections; cli -> mpc posts to the connection its route
 * item recorded (no request) or, without one, Queries the mpc's; a v2 sender's conditional write
 * of the message rides along.
 */
export function runLookups(send: Send): Promise<Checked<Lookups>> {
  if (send.route.followed) return lookupReply(send, send.route.followed);
  return send.config.tenantIsolation ? lookupTeamsFirst(send) : lookupInOneRound(send);
}

/** One round trip: the route write, the cli's connections and (v2) the dedupe write together. */
async function lookupInOneRound(send: Send): Promise<Checked<Lookups>> {
  const { route, table } = send;
  const item = messageItem(send);
  const [write, all, written] = await Promise.all([
    route.write ? putRoute(table, route.write) : undefined,
    queryPeerConnections(table, route.target),
    writeIfV2(send, item),
  ]);
  const connections = send.tenancy.reachable(all);
  const refusal =
    write?.outcome === 'taken'
      ? conversationTaken(send)
      : all.length > 0 && connections.length === 0
        ? notReachable(send, all.length)
        : undefined;
  if (refusal) {
    // Nothing of the refused message stays: its stored copy, its route write.
    await Promise.all([
      written === 'written' ? deleteInboxItem(table, item) : undefined,
      write ? undoRoute(table, write) : undefined,
    ]);
    return refused(refusal);
  }
  return accepted({ connections, item, ...(written ? { written } : {}), undo: undoOf(send, write) });
}

/**
 * Tenant isolation: the Query comes first (FORBIDDEN when the target is connected but none of its
 * connections may receive the message), then the route write and (v2) the dedupe write together.
 * A foreign team's mpc must not take over a cli's latest mapping, so with no reachable connection
 * that mapping rides on the stored item and is written when a connection that may receive it takes
 * it. A conversation is written at once: it only ever routes replies of its own team.
 */
async function lookupTeamsFirst(send: Send): Promise<Checked<Lookups>> {
  const { route, table, tenancy } = send;
  const all = await queryPeerConnections(table, route.target);
  const connections = tenancy.reachable(all);
  if (all.length > 0 && connections.length === 0) return refused(notReachable(send, all.length));
  const deferred = connections.length === 0 && route.write?.key === undefined ? route.write : undefined;
  const now = deferred ? undefined : route.write;
  const item = messageItem(send, deferred ? { cliId: deferred.cliId, mpcId: deferred.mpcId } : undefined);
  const [write, written] = await Promise.all([now ? putRoute(table, now) : undefined, writeIfV2(send, item)]);
  if (write?.outcome === 'taken') {
    if (written === 'written') await deleteInboxItem(table, item);
    return refused(conversationTaken(send));
  }
  return accepted({ connections, item, ...(written ? { written } : {}), undo: undoOf(send, write) });
}

/**
 * A cli's reply: the connection its route item recorded (the mpc's, as of its last message) is
 * posted to without a Query; a 410 from it falls back to the Query. Route items without one (older
 * relays, deferred mappings) Query as before.
 */
async function lookupReply(send: Send, followed: RouteItem): Promise<Checked<Lookups>> {
  const { route, table, tenancy } = send;
  const item = messageItem(send);
  const recorded: Recipient[] = (followed.connections ?? []).map((connection) => ({
    connectionId: connection.connectionId,
    protocol: connection.protocol,
    peerType: 'mpc',
    peerId: followed.mpcId,
    ...(followed.teams !== undefined ? { teams: followed.teams } : {}),
    ...(followed.peers !== undefined ? { peers: followed.peers } : {}),
  }));
  const query = () => queryPeerConnections(table, route.target).then((all) => tenancy.reachable(all));
  if (recorded.length > 0) {
    const connections = tenancy.reachable(recorded);
    if (connections.length === 0) return refused(notReachable(send, recorded.length));
    const written = await writeIfV2(send, item);
    return accepted({
      connections,
      fallback: query,
      item,
      ...(written ? { written } : {}),
      undo: async () => {},
    });
  }
  const [all, written] = await Promise.all([
    queryPeerConnections(table, route.target),
    writeIfV2(send, item),
  ]);
  const connections = tenancy.reachable(all);
  if (all.length > 0 && connections.length === 0) {
    if (written === 'written') await deleteInboxItem(table, item);
    return refused(notReachable(send, all.length));
  }
  return accepted({ connections, item, ...(written ? { written } : {}), undo: async () => {} });
}

function undoOf(send: Send, write: RouteWrite | undefined): () => Promise<void> {
  return write ? () => undoRoute(send.table, write) : async () => {};
}

function conversationTaken(send: Send) {
  const { request, route } = send;
  const key = request.key;
  const path = key?.path ?? 'sessionId';
  const message = `another mpc holds the conversation ${path} ${JSON.stringify(key?.key.slice(0, 64) ?? '')} with cli ${JSON.stringify(route.target.id)}: use another key, or wait until it expires`;
  return refuseSend(sendError(ErrorCode.ConversationTaken, message, path), request.frame.clientMsgId, {
    targetType: route.target.type,
    targetId: route.target.id,
  });
}

/** The target is connected but none of its connections may receive this (teams, `peers`). */
function notReachable(send: Send, connectionCount: number) {
  return refuseSend(
    crossTeamRefusal(send.tenancy.teamId, send.config.tenantIsolation),
    send.request.frame.clientMsgId,
    {
      targetType: send.route.target.type,
      targetId: send.route.target.id,
      connections: connectionCount,
      reason: send.config.tenantIsolation ? 'tenant isolation or peers' : 'peers',
    },
  );
}

/**
 * Protocol v2: a sender that gives a clientMsgId speaks v2 (v1 clients never send one): its message
 * is written with a dedupe condition, pending until delivered or acknowledged. Its OWN
 * unacknowledged messages are not looked at here (that Query would be one more request on every
 * v2 send): its v2 ping and getConnectionId resend them.
 */
function writeIfV2(send: Send, item: InboxItem): Promise<'written' | 'duplicate'> | undefined {
  if (send.request.frame.clientMsgId === undefined) return undefined;
  return putInboxItem(send.table, item, { ifNew: true, nowMs: item.storedAt });
}

/** The message's item for the route's target (`deferredMapping`: written at delivery, see above). */
function messageItem(send: Send, deferredMapping?: InboxMessage['mapping']): InboxItem {
  const { request, route, tenancy, config } = send;
  const { frame, sender, senderTeams } = request;
  const clientMsgId = frame.clientMsgId;
  return inboxItem(
    route.target,
    sender,
    {
      frame: route.delivery,
      from: sender.id,
      operationType: frame.operationType,
      size: Buffer.byteLength(route.delivery, 'utf8'),
      ...(senderTeams.length > 0 ? { teams: senderTeams } : {}),
      ...(tenancy.teamId !== undefined ? { teamId: tenancy.teamId } : {}),
      ...(deferredMapping ? { mapping: deferredMapping } : {}),
      ...(clientMsgId !== undefined ? { clientMsgId } : {}),
    },
    config.inboxTtlSeconds,
  );
}
