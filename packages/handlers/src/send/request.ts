import { conversationKey, decodeClientFrame, ErrorCode, type SendServerFrame } from '@mpc-relay/protocol';
import {
  peerFromContext,
  peersFromContext,
  protocolFromContext,
  teamsFromContext,
  type WebSocketEvent,
} from '../events.js';
import { errorAnswer } from '../invocation.js';
import { logger } from '../logger.js';
import { accepted, type Checked, refused, refuseSend, sendError } from './checked.js';
import type { SendRequest } from './types.js';

/**
 * Decodes the frame and binds it to the authenticated sender: INVALID_JSON / INVALID_FRAME /
 * MESSAGE_TOO_LARGE, FORBIDDEN without an authorizer context, SPOOFED_SOURCE. No request.
 */
export function readSendRequest(event: WebSocketEvent): Checked<SendRequest> {
  const decoded = decodeClientFrame(event.body ?? '');
  if (!decoded.ok) return refused(errorAnswer({ ...decoded.error, action: 'sendServer' }));
  if (decoded.value.action !== 'sendServer') {
    return refused(
      errorAnswer({
        code: ErrorCode.InvalidFrame,
        message: `this route takes action "sendServer", not ${JSON.stringify(decoded.value.action)}`,
        issues: [{ path: 'action', message: 'must be "sendServer"' }],
        action: 'sendServer',
      }),
    );
  }
  const frame: SendServerFrame = decoded.value;
  const sender = peerFromContext(event.requestContext);
  if (!sender) {
    logger.error('sendServer on a connection without authorizer context: check the $connect authorizer');
    return refused(
      refuseSend(
        sendError(ErrorCode.Forbidden, 'this connection carries no authenticated identity'),
        frame.clientMsgId,
      ),
    );
  }
  if (frame.sourceId !== sender.id) {
    const message = `sourceId ${JSON.stringify(frame.sourceId)} is not your authenticated id ${JSON.stringify(sender.id)}`;
    return refused(refuseSend(sendError(ErrorCode.SpoofedSource, message, 'sourceId'), frame.clientMsgId));
  }
  return accepted({
    frame,
    sender,
    senderTeams: teamsFromContext(event.requestContext),
    senderPeers: peersFromContext(event.requestContext),
    key: conversationKey(frame),
    connectionId: event.requestContext.connectionId,
    protocol: protocolFromContext(event.requestContext, frame.clientMsgId !== undefined),
  });
}
