import {
  decodeClientFrame,
  ErrorCode,
  encodeAckResult,
  encodeCliDelivery,
  encodeMpcDelivery,
  MAX_MESSAGE_BYTES,
  type PeerIdentity,
  type SendServerFrame,
} from '@mpc-relay/protocol';
import { type DrainPolicy, relayMessage } from '../delivery.js';
import { peerFromContext, teamsFromContext } from '../events.js';
import { answer, errorAnswer, messageRoute } from '../invocation.js';
import { digest, logger } from '../logger.js';
import {
  checkOperationType,
  checkSenderTeams,
  crossTeamRefusal,
  mayReach,
  messageTeamId,
  parseTeams,
} from '../policy.js';
import { relayContext } from '../relay-context.js';
import { documentClient } from '../store/client.js';
import { type ConnectionItem, queryPeerConnections } from '../store/connections.js';
import { type InboxItem, type InboxMessage, inboxItem, putInboxItem } from '../store/inbox.js';
import { getMapping, putMapping } from '../store/mappings.js';

documentClient(); // built during the init phase, reused by every invocation

/**
 * `sendServer` (two-way): the seed's routing.
 * - From an mpc: `cliToMpc: {CLI_ID: MPC_ID}` (MPC_ID must be the sender) names the cli; remember
 *   that the cli answers to this mpc (MAPPING_TTL_SECONDS) and deliver `{operationType, from, message}`.
 *   DynamoDB: PutItem mapping + Query the cli's connections, in parallel (2 requests).
 * - From a cli (no `cliToMpc`): look up its mpc and deliver `{operationType, from, to, message}`.
 *   DynamoDB: GetItem mapping, then Query the mpc's connections (2 requests).
 * `from` is the authenticated peer, never the body. Delivered to every live connection of the
 * target; kept in its inbox (+1 PutItem) when none takes it. Success answers nothing (as the seed);
 * every refusal answers an error frame and the connection stays open.
 *
 * Protocol v2 sender (`clientMsgId`): + 1 conditional PutItem of the message (durable and
 * deduplicated), in parallel with the lookups: 3 requests. No redelivery check of the sender's own
 * inbox here (v2 ping and getConnectionId do that).
 *
 * TENANT_ISOLATION=on (teams from the token, see policy.ts): the sender's teams and the message's
 * `teamId` are checked first (FORBIDDEN, 0 requests); the target's connections carry their teams, so
 * only those that may receive the message get it, and FORBIDDEN when the target is connected but
 * none may. mpc -> cli then runs the Query BEFORE the mapping PutItem (still 2 requests, sequential):
 * a foreign team's mpc must not take over a cli's mapping. An offline target's inbox item carries
 * the sender's teams (and, mpc -> cli, the mapping to write) and is checked when delivered.
 */
export const handler = messageRoute(async (event) => {
  const decoded = decodeClientFrame(event.body ?? '');
  if (!decoded.ok) return errorAnswer({ ...decoded.error, action: 'sendServer' });
  if (decoded.value.action !== 'sendServer') {
    return errorAnswer({
      code: ErrorCode.InvalidFrame,
      message: `this route takes action "sendServer", not ${JSON.stringify(decoded.value.action)}`,
      issues: [{ path: 'action', message: 'must be "sendServer"' }],
      action: 'sendServer',
    });
  }
  const frame: SendServerFrame = decoded.value;
  const refuse = (code: ErrorCode, message: string, path?: string) =>
    errorAnswer({
      code,
      message,
      ...(path ? { issues: [{ path, message }] } : {}),
      action: 'sendServer',
      clientMsgId: frame.clientMsgId,
    });

  const sender = peerFromContext(event.requestContext);
  if (!sender) {
    logger.error('sendServer on a connection without authorizer context: check the $connect authorizer');
    return refuse(ErrorCode.Forbidden, 'this connection carries no authenticated identity');
  }
  if (frame.sourceId !== sender.id) {
    return refuse(
      ErrorCode.SpoofedSource,
      `sourceId ${JSON.stringify(frame.sourceId)} is not your authenticated id ${JSON.stringify(sender.id)}`,
      'sourceId',
    );
  }
  const { config, table, poster } = relayContext(event);
  const operationRefusal = checkOperationType(config, frame.operationType);
  if (operationRefusal)
    return errorAnswer({ ...operationRefusal, action: 'sendServer', clientMsgId: frame.clientMsgId });
  const senderTeams = teamsFromContext(event.requestContext);
  const teamRefusal = checkSenderTeams(config, senderTeams, frame.message);
  if (teamRefusal)
    return errorAnswer({ ...teamRefusal, action: 'sendServer', clientMsgId: frame.clientMsgId });
  const teamId = config.tenantIsolation ? messageTeamId(frame.message) : undefined;
  /** The target's connections this message may reach (all of them when isolation is off). */
  const eligible = (all: ConnectionItem[]) =>
    all.filter((connection) => mayReach(config, senderTeams, parseTeams(connection.teams), teamId));

  // Protocol v2: a sender that gives a clientMsgId speaks v2 (the authorizer context cannot carry
  // the subprotocol; seed clients never send one): its message is written with a dedupe condition
  // and it is answered with an ack result. Its OWN unacknowledged messages are not looked at here
  // (that Query would be a 4th request on every v2 send): they are redelivered by its v2 ping (the
  // signer library sends one every 60 s) and by getConnectionId on reconnect.
  const clientMsgId = frame.clientMsgId;
  const v2Sender = clientMsgId !== undefined;
  /** The message's item for `target`, built once the target and its delivery text are known. */
  const makeItem = (to: PeerIdentity, text: string, mapping?: InboxMessage['mapping']): InboxItem =>
    inboxItem(
      to,
      sender,
      {
        frame: text,
        from: sender.id,
        operationType: frame.operationType,
        size: Buffer.byteLength(text, 'utf8'),
        ...(senderTeams.length > 0 ? { teams: senderTeams } : {}),
        ...(teamId !== undefined ? { teamId } : {}),
        ...(mapping ? { mapping } : {}),
        ...(clientMsgId !== undefined ? { clientMsgId } : {}),
      },
      config.inboxTtlSeconds,
    );
  /** v2 senders: the conditional write (dedupe) of the item, pending until delivered/acknowledged. */
  const writeItem = (item: InboxItem) => putInboxItem(table, item, { ifNew: true, nowMs: item.storedAt });

  let target: PeerIdentity;
  let item: InboxItem;
  let written: 'written' | 'duplicate' | undefined;
  let connections: ConnectionItem[];
  if (sender.type === 'mpc') {
    const entries = Object.entries(frame.cliToMpc ?? {});
    const entry = entries[0];
    if (!entry) {
      return refuse(
        ErrorCode.InvalidTarget,
        'an mpc must name the cli in cliToMpc: {"CLI_ID": "YOUR_MPC_ID"}',
        'cliToMpc',
      );
    }
    const [cliId, mpcId] = entry;
    if (mpcId !== sender.id) {
      return refuse(
        ErrorCode.InvalidTarget,
        `cliToMpc must map the cli to your own id ${JSON.stringify(sender.id)}, not ${JSON.stringify(mpcId)}`,
        `cliToMpc.${cliId}`,
      );
    }
    target = { type: 'cli', id: cliId };
    const delivery = encodeCliDelivery({
      operationType: frame.operationType,
      from: sender.id,
      message: frame.message,
    });
    if (Buffer.byteLength(delivery, 'utf8') > MAX_MESSAGE_BYTES) return tooLarge(delivery, clientMsgId);
    if (!config.tenantIsolation) {
      item = makeItem(target, delivery);
      // One round trip: the mapping, the target's connections and (v2) the dedupe write together.
      [, connections, written] = await Promise.all([
        putMapping(table, cliId, sender.id, config.mappingTtlSeconds),
        queryPeerConnections(table, target),
        v2Sender ? writeItem(item) : undefined,
      ]);
    } else {
      const all = await queryPeerConnections(table, target);
      connections = eligible(all);
      if (all.length > 0 && connections.length === 0)
        return crossTeam(target, all.length, teamId, clientMsgId);
      const deferred = connections.length > 0 ? undefined : { cliId, mpcId: sender.id };
      item = makeItem(target, delivery, deferred);
      [, written] = await Promise.all([
        connections.length > 0 ? putMapping(table, cliId, sender.id, config.mappingTtlSeconds) : undefined,
        v2Sender ? writeItem(item) : undefined,
      ]);
    }
  } else {
    if (frame.cliToMpc !== undefined) {
      return refuse(
        ErrorCode.InvalidTarget,
        'a cli cannot choose its target: omit cliToMpc, the relay answers the mpc that contacted you',
        'cliToMpc',
      );
    }
    const { mapping, expired } = await getMapping(table, sender.id);
    if (!mapping) {
      return refuse(
        ErrorCode.NoMapping,
        expired
          ? `the mpc that contacted you (${expired.mpcId}) did so too long ago: the mapping expired`
          : 'no mpc has contacted you: a cli can only answer an mpc that sent it a message',
      );
    }
    target = { type: 'mpc', id: mapping.mpcId };
    const delivery = encodeMpcDelivery({
      operationType: frame.operationType,
      from: sender.id,
      to: mapping.mpcId,
      message: frame.message,
    });
    if (Buffer.byteLength(delivery, 'utf8') > MAX_MESSAGE_BYTES) return tooLarge(delivery, clientMsgId);
    item = makeItem(target, delivery);
    let all: ConnectionItem[];
    if (!config.tenantIsolation) {
      [all, written] = await Promise.all([
        queryPeerConnections(table, target),
        v2Sender ? writeItem(item) : undefined,
      ]);
      connections = all;
    } else {
      all = await queryPeerConnections(table, target);
      connections = eligible(all);
      if (all.length > 0 && connections.length === 0)
        return crossTeam(target, all.length, teamId, clientMsgId);
      written = v2Sender ? await writeItem(item) : undefined;
    }
  }

  const { bytes, sha256 } = digest(item.frame ?? '');
  const result = await relayMessage(table, poster, {
    target,
    connections,
    item,
    ...(written ? { written } : {}),
    eligible,
    drainPolicyFor: (connection) => drainPolicy(parseTeams(connection.teams)),
    dedupeTtlSeconds: config.dedupeTtlSeconds,
  });
  logger.info('relayed', {
    outcome: result.outcome,
    targetType: target.type,
    targetId: target.id,
    operationType: frame.operationType,
    bytes,
    sha256,
    messageId: result.messageId,
    ...(clientMsgId !== undefined ? { clientMsgId } : {}),
    connections: connections.length,
    delivered: result.delivered,
    stale: result.stale,
    failed: result.failed,
    ...(result.outcome === 'stored' ? { messageKey: result.messageKey, expiresAt: result.expiresAt } : {}),
  });
  if (clientMsgId === undefined) return answer();
  return answer(encodeAckResult({ clientMsgId, messageId: result.messageId, status: result.outcome }));

  /** Tenant isolation when a stored message reaches a connection with `receiverTeams`. */
  function drainPolicy(receiverTeams: readonly string[]): DrainPolicy {
    return {
      mayReceive: (stored) => mayReach(config, parseTeams(stored.teams), receiverTeams, stored.teamId),
      mappingTtlSeconds: config.mappingTtlSeconds,
    };
  }
});

/** The target is connected, but none of its connections shares a team (or serves `teamId`). */
function crossTeam(
  target: PeerIdentity,
  connections: number,
  teamId: string | undefined,
  clientMsgId: string | undefined,
) {
  return errorAnswer(
    { ...crossTeamRefusal(teamId), action: 'sendServer', clientMsgId },
    { targetType: target.type, targetId: target.id, connections, reason: 'tenant isolation' },
  );
}

function tooLarge(delivery: string, clientMsgId: string | undefined) {
  const size = Buffer.byteLength(delivery, 'utf8');
  return errorAnswer({
    code: ErrorCode.MessageTooLarge,
    message: `the delivered frame would be ${size} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes`,
    action: 'sendServer',
    clientMsgId,
  });
}
