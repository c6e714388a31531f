/**
 * Conversations: which mpc a cli's reply goes to. An mpc -> cli message opens (or continues) the
 * conversation of its key with that cli; a cli's reply carrying the same key goes to that mpc, never
 * to whichever mpc wrote last.
 */

/** Operation types whose message names its conversation, and the field that does. */
export const CONVERSATION_KEY_FIELDS = {
  PartialSig: 'transactionId',
  FullSig: 'transactionId',
  signing: 'txId',
  fullSig: 'txId',
} as const satisfies Record<string, string>;

/** A message's conversation key and where it was found (`sessionId`, `message.transactionId`, ...). */
export interface ConversationKey {
  key: string;
  path: string;
}

/**
 * The conversation key of a `sendServer` frame: its explicit `sessionId` when it has one (any
 * operation type), else, for the original operation types, the message's `transactionId`
 * (`PartialSig`, `FullSig`) or `txId` (`signing`, `fullSig`) when it is a non-empty string.
 * Undefined when the frame names no conversation (a reply without a key goes to the cli's latest mpc).
 */
export function conversationKey(frame: {
  operationType: string;
  message: unknown;
  sessionId?: string | undefined;
}): ConversationKey | undefined {
  if (typeof frame.sessionId === 'string' && frame.sessionId !== '') {
    return { key: frame.sessionId, path: 'sessionId' };
  }
  if (!Object.hasOwn(CONVERSATION_KEY_FIELDS, frame.operationType)) return undefined;
  const field = CONVERSATION_KEY_FIELDS[frame.operationType as keyof typeof CONVERSATION_KEY_FIELDS];
  const message = frame.message;
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return undefined;
  const value = (message as Record<string, unknown>)[field];
  return typeof value === 'string' && value !== '' ? { key: value, path: `message.${field}` } : undefined;
}
