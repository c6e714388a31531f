/**
 * Stable, machine-readable error codes carried by the relay's error frame. Codes are part of the
 * wire contract: never rename one, only add.
 */
export const ErrorCode = {
  /** The frame is not valid JSON (or not a JSON object). */
  InvalidJson: 'INVALID_JSON',
  /** A field is missing or has the wrong type or format; `issues` names each one. */
  InvalidFrame: 'INVALID_FRAME',
  /** The `action` names no route of the relay. */
  UnknownAction: 'UNKNOWN_ACTION',
  /** The message is larger than the relay accepts. */
  MessageTooLarge: 'MESSAGE_TOO_LARGE',
  /** The body's `sourceId` is not the sender's authenticated id. */
  SpoofedSource: 'SPOOFED_SOURCE',
  /** `cliToMpc` names another mpc than the sender, or a cli tried to use it. */
  InvalidTarget: 'INVALID_TARGET',
  /** A cli replied but no mpc contacted it (or the mapping expired). */
  NoMapping: 'NO_MAPPING',
  /**
   * Sender and receiver share no team, the message's `teamId` is not one of the sender's, or the
   * token's `peers` claim (the counterparts it may talk to) leaves the other party out.
   */
  Forbidden: 'FORBIDDEN',
  /** The operation type is not allowed on this relay. */
  OperationNotAllowed: 'OPERATION_NOT_ALLOWED',
  /** The message was kept for an offline peer and expired before it could be delivered. */
  Expired: 'EXPIRED',
  /** The relay is throttled; retry later. */
  Throttled: 'THROTTLED',
  /** The relay failed; the message was not accepted. Safe to retry. */
  Internal: 'INTERNAL',
  /**
   * The connection's token expired after it connected (jwt mode): the frame was not handled and the
   * relay closes the connection. Reconnect with a fresh token (the same token is refused, 403).
   */
  TokenExpired: 'TOKEN_EXPIRED',
  /**
   * Another mpc holds a live conversation under this key with this cli (`sessionId`, or the
   * message's `transactionId` / `txId`): nothing was delivered or stored. Use another key, or wait
   * until that conversation expires.
   */
  ConversationTaken: 'CONVERSATION_TAKEN',
  /**
   * The receiver has too many messages (or bytes) waiting for it: this one was not stored or
   * delivered; what waits already is untouched. Retry once the receiver has drained its inbox.
   */
  InboxFull: 'INBOX_FULL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/** One problem found in a frame: where (a JSON path like `cliToMpc.cli123`) and what. */
export interface FrameIssue {
  path: string;
  message: string;
}
