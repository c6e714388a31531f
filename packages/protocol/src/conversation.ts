/**
 * Conversations: which mpc a cli's reply goes to. An mpc -> cli message opens (or continues) the
 * conversation of its key with that cli; a cli's reply carrying the same key goes to that mpc, never
 * to whichever mpc wrote last.
 */

/**
 * The message fields that name a conversation when the frame has no `sessionId`, in order: the
 * original operation types' ids (`transactionId` of PartialSig / FullSig, `txId` of the
 * walkthrough's signing / fullSig), looked for in any operation type's message (a co-signer's
 * refusal of a PartialSig carries its transactionId too).
 */
export const CONVERSATION_KEY_FIELDS = ['transactionId', 'txId'] as const;

/** A message's conversation key and where it was found (`sessionId`, `message.transactionId`, ...). */
export interface ConversationKey {
  key: string;
  path: string;
}

/**
 * The conversation key of a `sendServer` frame: its explicit `sessionId` when it has one, else the
 * message's `transactionId`, else its `txId`, when the message is an object and the field a
 * non-empty string (any operation type). Undefined when the frame names no conversation: a reply
 * without a key goes to the mpc that last sent the cli a message without one.
 */
export function conversationKey(frame: {
  operationType: string;
  message: unknown;
  sessionId?: string | undefined;
}): ConversationKey | undefined {
  if (typeof frame.sessionId === 'string' && frame.sessionId !== '') {
    return { key: frame.sessionId, path: 'sessionId' };
  }
  const message = frame.message;
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return undefined;
  for (const field of CONVERSATION_KEY_FIELDS) {
    const value = Object.hasOwn(message, field) ? (message as Record<string, unknown>)[field] : undefined;
    if (typeof value === 'string' && value !== '') return { key: value, path: `message.${field}` };
  }
  return undefined;
}
