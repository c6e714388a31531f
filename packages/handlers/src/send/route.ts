import {
  ErrorCode,
  encodeCliDelivery,
  encodeMpcDelivery,
  MAX_MESSAGE_BYTES,
  type PeerIdentity,
} from '@mpc-relay/protocol';
import type { RelayConfig } from '../config.js';
import { checkPeers, messageTeamId } from '../policy.js';
import { getRoute, routeItem } from '../store/conversations.js';
import type { TableRef } from '../store/table.js';
import { accepted, type Checked, refused, refuseSend, sendError } from './checked.js';
import type { Route, SendRequest } from './types.js';

/**
 * The route of a sender's message, by sender type (mpc: no request; cli: 1 GetItem), refused with
 * INVALID_TARGET / NO_MAPPING / FORBIDDEN (`peers`, the conversation's team), or MESSAGE_TOO_LARGE
 * when the delivery frame exceeds 128 KiB.
 */
export async function resolveRoute(
  table: TableRef,
  config: RelayConfig,
  request: SendRequest,
): Promise<Checked<Route>> {
  const route =
    request.sender.type === 'mpc'
      ? routeFromMpc(config, request)
      : await routeFromCli(table, config, request);
  if (!route.ok) return route;
  const size = Buffer.byteLength(route.value.delivery, 'utf8');
  if (size > MAX_MESSAGE_BYTES) {
    const message = `the delivered frame would be ${size} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes`;
    return refused(refuseSend(sendError(ErrorCode.MessageTooLarge, message), request.frame.clientMsgId));
  }
  return route;
}

/**
 * An mpc names the cli in `cliToMpc: {CLI_ID: <its own id>}`; `{operationType, from, message}`
 * (+ `sessionId` when it gave one). Its own `peers` claim must list the cli (no request).
 */
function routeFromMpc(config: RelayConfig, request: SendRequest): Checked<Route> {
  const { frame, sender } = request;
  const entry = Object.entries(frame.cliToMpc ?? {})[0];
  if (!entry) {
    const message = 'an mpc must name the cli in cliToMpc: {"CLI_ID": "YOUR_MPC_ID"}';
    return refused(refuseSend(sendError(ErrorCode.InvalidTarget, message, 'cliToMpc'), frame.clientMsgId));
  }
  const [cliId, mpcId] = entry;
  if (mpcId !== sender.id) {
    const message = `cliToMpc must map the cli to your own id ${JSON.stringify(sender.id)}, not ${JSON.stringify(mpcId)}`;
    return refused(
      refuseSend(sendError(ErrorCode.InvalidTarget, message, `cliToMpc.${cliId}`), frame.clientMsgId),
    );
  }
  const forbidden = checkPeers(request.senderPeers, { type: 'cli', id: cliId }, 'your token');
  if (forbidden) return refused(refuseSend(forbidden, frame.clientMsgId, { reason: 'peers' }));
  const write = routeItem(
    {
      cliId,
      mpcId: sender.id,
      key: request.key?.key,
      connections: [{ connectionId: request.connectionId, protocol: request.protocol }],
      teams: request.senderTeams,
      teamId: config.tenantIsolation ? messageTeamId(frame.message) : undefined,
      peers: request.senderPeers,
    },
    config.mappingTtlSeconds,
  );
  return accepted({
    target: { type: 'cli', id: cliId },
    delivery: encodeCliDelivery({
      operationType: frame.operationType,
      from: sender.id,
      message: frame.message,
      ...(frame.sessionId !== undefined ? { sessionId: frame.sessionId } : {}),
    }),
    write,
  });
}

/**
 * A cli answers the mpc of the conversation its reply names (`sessionId`, else the message's
 * transactionId / txId), or without a key the mpc that last sent it a message naming none
 * (1 GetItem either way); `{operationType, from, to, message}` (+ `sessionId`).
 */
async function routeFromCli(
  table: TableRef,
  config: RelayConfig,
  request: SendRequest,
): Promise<Checked<Route>> {
  const { frame, sender, key } = request;
  if (frame.cliToMpc !== undefined) {
    const message =
      'a cli cannot choose its target: omit cliToMpc, the relay answers the mpc that contacted you';
    return refused(refuseSend(sendError(ErrorCode.InvalidTarget, message, 'cliToMpc'), frame.clientMsgId));
  }
  const { route, expired } = await getRoute(table, sender.id, key?.key);
  if (!route) {
    let message: string;
    if (key) {
      const named = `${key.path} ${JSON.stringify(key.key.slice(0, 64))}`;
      message = expired
        ? `the conversation of ${named} expired: the mpc that opened it (${expired.mpcId}) wrote too long ago`
        : `no mpc opened a conversation with you under ${named}: a reply goes to the mpc that sent that key`;
    } else {
      message = expired
        ? `the mpc that contacted you (${expired.mpcId}) did so too long ago: the mapping expired`
        : 'no mpc has contacted you: a cli can only answer an mpc that sent it a message';
    }
    return refused(
      refuseSend(sendError(ErrorCode.NoMapping, message, key?.path), frame.clientMsgId, {
        ...(key ? { conversation: true } : {}),
      }),
    );
  }
  const target: PeerIdentity = { type: 'mpc', id: route.mpcId };
  const forbidden =
    checkPeers(request.senderPeers, target, 'your token') ??
    checkPeers(route.peers === undefined ? undefined : route.peers.split(','), sender, "the mpc's token");
  if (forbidden) return refused(refuseSend(forbidden, frame.clientMsgId, { reason: 'peers' }));
  if (config.tenantIsolation && route.teamId !== undefined) {
    const teamId = messageTeamId(frame.message);
    if (teamId !== undefined && teamId !== route.teamId) {
      const message = `this conversation belongs to team ${JSON.stringify(route.teamId)}, not ${JSON.stringify(teamId)}: this relay isolates teams`;
      return refused(
        refuseSend(
          {
            code: ErrorCode.Forbidden,
            message,
            issues: [{ path: 'message.teamId', message: 'not the team of this conversation' }],
          },
          frame.clientMsgId,
          { reason: 'tenant isolation' },
        ),
      );
    }
  }
  return accepted({
    target,
    delivery: encodeMpcDelivery({
      operationType: frame.operationType,
      from: sender.id,
      to: route.mpcId,
      message: frame.message,
      ...(frame.sessionId !== undefined ? { sessionId: frame.sessionId } : {}),
    }),
    followed: route,
  });
}
