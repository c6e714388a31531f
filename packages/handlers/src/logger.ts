import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Structured JSON logs (Powertools). Policy: log ids, route keys, sizes, sha256 digests and
 * outcomes; NEVER payload contents (partial signatures) or tokens. Level from LOG_LEVEL /
 * POWERTOOLS_LOG_LEVEL (tests use SILENT).
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'mpc-relay' });

/** Size and sha256 of a payload: what the logs may say about it instead of its contents. */
export function digest(text: string): { bytes: number; sha256: string } {
  return {
    bytes: Buffer.byteLength(text, 'utf8'),
    sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
  };
}

/** An error's name and message, safe to log (SDK errors carry no payloads). */
export function describeError(error: unknown): { errorName: string; errorMessage: string } {
  if (error instanceof Error) return { errorName: error.name, errorMessage: error.message };
  return { errorName: typeof error, errorMessage: String(error) };
}
