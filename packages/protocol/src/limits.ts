/**
 * Size limits of API Gateway v2 WebSocket APIs, shared by every part of the relay so that the
 * local gateway, the handlers and the clients refuse exactly what AWS refuses.
 */

/** Largest message API Gateway accepts, in bytes (128 KiB), from a client or on `@connections` POST. */
export const MAX_MESSAGE_BYTES = 131_072;

/** Largest single WebSocket frame API Gateway accepts, in bytes (32 KiB); larger closes with 1009. */
export const MAX_FRAME_BYTES = 32_768;

/** Longest peer id (`cliId` / `mpcId`) the relay accepts. */
export const PEER_ID_MAX_LENGTH = 128;

/** Longest operation type name. */
export const OPERATION_TYPE_MAX_LENGTH = 64;

/** Longest client message id (protocol v2). */
export const CLIENT_MESSAGE_ID_MAX_LENGTH = 128;

/** Longest `sessionId` (the conversation key a sender names explicitly). */
export const SESSION_ID_MAX_LENGTH = 128;

/** Most message ids one `ack` frame may carry. */
export const MAX_ACK_IDS = 100;

/**
 * Deepest nesting of arrays and objects a frame may have (the frame object itself is level 1). Deeper
 * JSON is refused when decoding: `JSON.stringify` overflows the stack at a few thousand levels, so a
 * relay that accepted it could not forward it.
 */
export const MAX_JSON_DEPTH = 64;

/** Most issues one error frame lists; the rest are counted in its message. */
export const MAX_ERROR_ISSUES = 10;

/** Longest text an error frame echoes (its message, an issue's path or message), in characters. */
export const MAX_ERROR_TEXT_LENGTH = 300;

const encoder = typeof Buffer === 'undefined' ? new TextEncoder() : undefined;

/** Byte length of a string as UTF-8, the unit every limit above is expressed in. */
export function utf8Length(text: string): number {
  return encoder ? encoder.encode(text).length : Buffer.byteLength(text, 'utf8');
}
