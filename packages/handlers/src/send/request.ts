import {
  type ConversationKey,
  conversationKey,
  decodeClientFrame,
  ErrorCode,
  type ErrorFrameInput,
  type PeerIdentity,
  type SendServerFrame,
} from '@mpc-relay/protocol';
import type { RelayConfig } from '../config.js';
import {
  peerFromContext,
  peersFromContext,
  protocolFromContext,
  teamsFromContext,
  type WebSocketEvent,
  type WebSocketResult,
} from '../events.js';
import { errorAnswer } from '../invocation.js';
import { logger } from '../logger.js';
import type { SenderTenancy } from '../policy.js';
import type { TableRef } from '../store/connections.js';
import type { Route } from './route.js';

/** A sendServer frame whose sender is authenticated and names itself as the source. */
export interface SendRequest {
  frame: SendServerFrame;
  sender: PeerIdentity;
  /** The sender's teams (authorizer context; none outside jwt mode). */
  senderTeams: string[];
  /** The sender's token `peers` claim: the only counterparts it may talk to (undefined: any). */
  senderPeers: string[] | undefined;
  /** The conversation the frame names (`sessionId`, else the message's transactionId / txId). */
  key: ConversationKey | undefined;
  /** The sender's own connection and its protocol: recorded for the replies of an mpc's route. */
  connectionId: string;
  protocol: string;
}

/** One send once routed: what the lookups and the delivery work from. */
export interface Send {
  request: SendRequest;
  route: Route;
  tenancy: SenderTenancy;
  config: RelayConfig;
  table: TableRef;
}

/** A step's value, or the error answer that ends the send. */
export type Checked<T> = { ok: true; value: T } | { ok: false; refusal: WebSocketResult };

export function accepted<T>(value: T): Checked<T> {
  return { ok: true, value };
}

export function refused<T>(refusal: WebSocketResult): Checked<T> {
  return { ok: false, refusal };
}

/** An error frame input, naming the field at `path` when given. */
export function sendError(code: ErrorCode, message: string, path?: string): ErrorFrameInput {
  return { code, message, ...(path ? { issues: [{ path, message }] } : {}) };
}

/** The error answer to a refused send (echoing the v2 `clientMsgId` when there is one). */
export function refuseSend(
  error: ErrorFrameInput,
  clientMsgId: string | undefined,
  logFields?: Record<string, unknown>,
): WebSocketResult {
  return errorAnswer({ ...error, action: 'sendServer', clientMsgId }, logFields);
}

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
