import type { z } from 'zod';
import type { ErrorCode, FrameIssue } from './errors.js';

/** What went wrong while decoding, ready to be sent back in an error frame. */
export interface DecodeError {
  code: ErrorCode;
  message: string;
  issues?: FrameIssue[];
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: DecodeError };

/** Zod issues as `{path, message}` pairs with dotted paths (`message.teamId`, `cliToMpc`). */
export function issuesFromZod(error: z.ZodError): FrameIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}
