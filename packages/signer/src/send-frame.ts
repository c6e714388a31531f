/** Builds the original demo's `sendServer` frame for a send request, validated before it is queued. */
import { decodeClientFrame, MAX_FRAME_BYTES, type PeerIdentity, utf8Length } from '@mpc-relay/protocol';
import { InvalidSendError } from './errors.js';

export interface SendRequest {
  operationType: string;
  message: unknown;
  /** Required for an mpc (the cli to deliver to: `cliToMpc: {cliId: ownId}`); refused for a cli. */
  cliId?: string;
  /** The session (conversation) the message belongs to: the `sessionId` envelope field. */
  sessionId?: string;
}

/**
 * The frame text: `sourceId` is the sender's own id; an mpc names the cli (`cliToMpc: {cliId:
 * ownId}`), a cli names nobody (the relay answers the mpc that contacted it). With a `clientMsgId`
 * (protocol v2) it is appended last, so the original demo fields keep the original demo's order. Throws
 * InvalidSendError for anything the relay would refuse or API Gateway would close the connection on.
 */
export function buildSendServerFrame(peer: PeerIdentity, request: SendRequest, clientMsgId?: string): string {
  const { operationType, message, cliId, sessionId } = request;
  const session = sessionId === undefined ? {} : { sessionId };
  const id = clientMsgId === undefined ? {} : { clientMsgId };
  let frame: Record<string, unknown>;
  if (peer.type === 'mpc') {
    if (cliId === undefined) throw new InvalidSendError('an mpc must name the cli to send to (cliId)');
    frame = {
      action: 'sendServer',
      sourceId: peer.id,
      cliToMpc: { [cliId]: peer.id },
      operationType,
      message,
      ...session,
      ...id,
    };
  } else {
    if (cliId !== undefined) {
      throw new InvalidSendError('a cli cannot name a target: the relay answers the mpc that contacted it');
    }
    frame = { action: 'sendServer', sourceId: peer.id, operationType, message, ...session, ...id };
  }
  let text: string;
  try {
    text = JSON.stringify(frame);
  } catch (error) {
    throw new InvalidSendError(`message is not JSON-serialisable: ${(error as Error).message}`);
  }
  const size = utf8Length(text);
  if (size > MAX_FRAME_BYTES) {
    throw new InvalidSendError(
      `frame is ${size} bytes; API Gateway closes connections on frames over ${MAX_FRAME_BYTES} bytes`,
    );
  }
  const decoded = decodeClientFrame(text);
  if (!decoded.ok) throw new InvalidSendError(decoded.error.message);
  return text;
}
