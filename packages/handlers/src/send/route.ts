import {
  ErrorCode,
  encodeCliDelivery,
  encodeMpcDelivery,
  MAX_MESSAGE_BYTES,
  type PeerIdentity,
} from '@mpc-relay/protocol';
import type { TableRef } from '../store/connections.js';
import { getMapping } from '../store/mappings.js';
import { accepted, type Checked, refused, refuseSend, type SendRequest, sendError } from './request.js';

/** Where a message goes, the exact v1 text it arrives as, and the mapping the send writes. */
export interface Route {
  target: PeerIdentity;
  /** The original demo delivery frame (v2 receivers get it wrapped, see `frameFor`). */
  delivery: string;
  /** mpc -> cli: the cli may answer this mpc from now on (`MAP#<cliId>`). */
  mapping?: { cliId: string; mpcId: string };
}

/**
 * The route of a sender's message, by sender type (mpc: no request; cli: 1 GetItem), refused with
 * INVALID_TARGET / NO_MAPPING, or MESSAGE_TOO_LARGE when the delivery frame exceeds 128 KiB.
 */
export async function resolveRoute(table: TableRef, request: SendRequest): Promise<Checked<Route>> {
  const route = request.sender.type === 'mpc' ? routeFromMpc(request) : await routeFromCli(table, request);
  if (!route.ok) return route;
  const size = Buffer.byteLength(route.value.delivery, 'utf8');
  if (size > MAX_MESSAGE_BYTES) {
    const message = `the delivered frame would be ${size} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes`;
    return refused(refuseSend(sendError(ErrorCode.MessageTooLarge, message), request.frame.clientMsgId));
  }
  return route;
}

/** An mpc names the cli in `cliToMpc: {CLI_ID: <its own id>}`; `{operationType, from, message}`. */
function routeFromMpc({ frame, sender }: SendRequest): Checked<Route> {
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
  return accepted({
    target: { type: 'cli', id: cliId },
    delivery: encodeCliDelivery({
      operationType: frame.operationType,
      from: sender.id,
      message: frame.message,
    }),
    mapping: { cliId, mpcId: sender.id },
  });
}

/** A cli answers the mpc that contacted it last (1 GetItem); `{operationType, from, to, message}`. */
async function routeFromCli(table: TableRef, { frame, sender }: SendRequest): Promise<Checked<Route>> {
  if (frame.cliToMpc !== undefined) {
    const message =
      'a cli cannot choose its target: omit cliToMpc, the relay answers the mpc that contacted you';
    return refused(refuseSend(sendError(ErrorCode.InvalidTarget, message, 'cliToMpc'), frame.clientMsgId));
  }
  const { mapping, expired } = await getMapping(table, sender.id);
  if (!mapping) {
    const message = expired
      ? `the mpc that contacted you (${expired.mpcId}) did so too long ago: the mapping expired`
      : 'no mpc has contacted you: a cli can only answer an mpc that sent it a message';
    return refused(refuseSend(sendError(ErrorCode.NoMapping, message), frame.clientMsgId));
  }
  return accepted({
    target: { type: 'mpc', id: mapping.mpcId },
    delivery: encodeMpcDelivery({
      operationType: frame.operationType,
      from: sender.id,
      to: mapping.mpcId,
      message: frame.message,
    }),
  });
}
