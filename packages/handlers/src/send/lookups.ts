import { crossTeamRefusal } from '../policy.js';
import { type ConnectionItem, queryPeerConnections } from '../store/connections.js';
import { type InboxItem, type InboxMessage, inboxItem, putInboxItem } from '../store/inbox.js';
import { putMapping } from '../store/mappings.js';
import { accepted, type Checked, refused, refuseSend, type Send } from './request.js';

/** What the delivery starts from. */
export interface Lookups {
  /** The target's connections this message may reach. */
  connections: ConnectionItem[];
  /** The message's item (its key already chosen: deterministic for v2 senders). */
  item: InboxItem;
  /** v2 senders: the outcome of the item's conditional write, made with the lookups. */
  written?: 'written' | 'duplicate';
}

/**
 * The DynamoDB requests before the delivery: Query the target's connections, write the mapping
 * (mpc -> cli) and, for a v2 sender, the message's conditional write.
 */
export function runLookups(send: Send): Promise<Checked<Lookups>> {
  return send.config.tenantIsolation ? lookupTeamsFirst(send) : lookupInOneRound(send);
}

/** One round trip: the mapping, the target's connections and (v2) the dedupe write together. */
async function lookupInOneRound(send: Send): Promise<Checked<Lookups>> {
  const { route, table } = send;
  const item = messageItem(send);
  const [, connections, written] = await Promise.all([
    route.mapping ? writeMapping(send, route.mapping) : undefined,
    queryPeerConnections(table, route.target),
    writeIfV2(send, item),
  ]);
  return accepted({ connections, item, ...(written ? { written } : {}) });
}

/**
 * Tenant isolation: the Query comes first (FORBIDDEN when the target is connected but none of its
 * connections may receive the message), then the mapping and (v2) the dedupe write together. A
 * foreign team's mpc must not take over a cli's mapping, so with no reachable connection the
 * mapping rides on the stored item and is written when a connection that may receive it takes it.
 */
async function lookupTeamsFirst(send: Send): Promise<Checked<Lookups>> {
  const { route, table, tenancy } = send;
  const all = await queryPeerConnections(table, route.target);
  const connections = tenancy.reachable(all);
  if (all.length > 0 && connections.length === 0) {
    return refused(
      refuseSend(crossTeamRefusal(tenancy.teamId), send.request.frame.clientMsgId, {
        targetType: route.target.type,
        targetId: route.target.id,
        connections: all.length,
        reason: 'tenant isolation',
      }),
    );
  }
  const mappingNow = connections.length > 0 ? route.mapping : undefined;
  const item = messageItem(send, connections.length > 0 ? undefined : route.mapping);
  const [, written] = await Promise.all([
    mappingNow ? writeMapping(send, mappingNow) : undefined,
    writeIfV2(send, item),
  ]);
  return accepted({ connections, item, ...(written ? { written } : {}) });
}

function writeMapping(send: Send, mapping: { cliId: string; mpcId: string }): Promise<void> {
  return putMapping(send.table, mapping.cliId, mapping.mpcId, send.config.mappingTtlSeconds);
}

/**
 * Protocol v2: a sender that gives a clientMsgId speaks v2 (the authorizer context cannot carry
 * the subprotocol; v1 clients never send one): its message is written with a dedupe condition,
 * pending until delivered or acknowledged. Its OWN unacknowledged messages are not looked at here
 * (that Query would be a 4th request on every v2 send): its v2 ping and getConnectionId resend them.
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
