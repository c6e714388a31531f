import {
  decodeClientFrame,
  ErrorCode,
  encodeCliDelivery,
  encodeMpcDelivery,
  MAX_MESSAGE_BYTES,
  type PeerIdentity,
  type SendServerFrame,
} from '@mpc-relay/protocol';
import { deliverOrStore } from '../delivery.js';
import { peerFromContext } from '../events.js';
import { answer, errorAnswer, messageRoute } from '../invocation.js';
import { digest, logger } from '../logger.js';
import { checkOperationType, checkPeers } from '../policy.js';
import { relayContext } from '../relay-context.js';
import { documentClient } from '../store/client.js';
import { type ConnectionItem, queryPeerConnections } from '../store/connections.js';
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

  let target: PeerIdentity;
  let delivery: string;
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
    const policyRefusal = checkPeers(config, sender, target, frame.message);
    if (policyRefusal)
      return errorAnswer({ ...policyRefusal, action: 'sendServer', clientMsgId: frame.clientMsgId });
    delivery = encodeCliDelivery({
      operationType: frame.operationType,
      from: sender.id,
      message: frame.message,
    });
    if (Buffer.byteLength(delivery, 'utf8') > MAX_MESSAGE_BYTES) return tooLarge(delivery, frame.clientMsgId);
    [, connections] = await Promise.all([
      putMapping(table, cliId, sender.id, config.mappingTtlSeconds),
      queryPeerConnections(table, target),
    ]);
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
    const policyRefusal = checkPeers(config, sender, target, frame.message);
    if (policyRefusal)
      return errorAnswer({ ...policyRefusal, action: 'sendServer', clientMsgId: frame.clientMsgId });
    delivery = encodeMpcDelivery({
      operationType: frame.operationType,
      from: sender.id,
      to: mapping.mpcId,
      message: frame.message,
    });
    if (Buffer.byteLength(delivery, 'utf8') > MAX_MESSAGE_BYTES) return tooLarge(delivery, frame.clientMsgId);
    connections = await queryPeerConnections(table, target);
  }

  const { bytes, sha256 } = digest(delivery);
  const result = await deliverOrStore(
    table,
    poster,
    target,
    connections,
    { frame: delivery, from: sender.id, operationType: frame.operationType, size: bytes },
    config.inboxTtlSeconds,
  );
  logger.info('relayed', {
    outcome: result.outcome,
    targetType: target.type,
    targetId: target.id,
    operationType: frame.operationType,
    bytes,
    sha256,
    connections: connections.length,
    delivered: result.delivered,
    stale: result.stale,
    failed: result.failed,
    ...(result.outcome === 'stored' ? { messageKey: result.messageKey, expiresAt: result.expiresAt } : {}),
  });
  return answer();
});

function tooLarge(delivery: string, clientMsgId: string | undefined) {
  const size = Buffer.byteLength(delivery, 'utf8');
  return errorAnswer({
    code: ErrorCode.MessageTooLarge,
    message: `the delivered frame would be ${size} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes`,
    action: 'sendServer',
    clientMsgId,
  });
}
