import type { ErrorCode, FrameIssue } from './errors.js';
import type * as z from './zod.js';

/** What went wrong while decoding, ready to be sent back in an error frame. */
export interface DecodeError {
  code: ErrorCode;
  message: string;
  issues?: FrameIssue[];
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: DecodeError };

/** Zod issues as `{path, message}` pairs with dotted paths (`message.teamId`, `cliToMpc`). */
export function issuesFromZod(error: z.core.$ZodError): FrameIssue[] {
  return error.issues.map((issue) => {
    let message = issue.message;
    // A bad record key (e.g. in cliToMpc): say what is wrong with it, not just "Invalid key".
    if (issue.code === 'invalid_key' && issue.issues.length > 0) {
      message = `invalid key: ${issue.issues.map((inner) => inner.message).join('; ')}`;
    }
    return { path: issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)', message };
  });
}

/** Parse options for every schema of the protocol: a missing field reads "is required". */
export const PARSE_OPTIONS = {
  error: (issue: { code?: string; input?: unknown }) =>
    issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined,
} as const;
