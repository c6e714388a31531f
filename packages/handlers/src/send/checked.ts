import type { ErrorCode, ErrorFrameInput } from '@mpc-relay/protocol';
import type { WebSocketResult } from '../events.js';
import { errorAnswer } from '../invocation.js';

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
