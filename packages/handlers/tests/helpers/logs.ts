import { afterEach, vi } from 'vitest';
import { logger } from '../../src/logger.js';

/**
 * Log capture for a describe block: `capture()` turns the logger to DEBUG and records everything
 * written to stdout/stderr into `lines` (emptied first); after each test the writes are restored
 * and the logger is silenced again.
 */
export function useLogCapture(): { lines: string[]; capture(): void } {
  const lines: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    logger.setLogLevel('SILENT');
  });
  function capture() {
    lines.length = 0;
    logger.setLogLevel('DEBUG');
    const record = (chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(record as never);
    vi.spyOn(process.stderr, 'write').mockImplementation(record as never);
  }
  return { lines, capture };
}
