/** When to reconnect after a connection ended, and when to give up. */
import { backoffDelay } from './backoff.js';
import { RelayUnreachableError } from './errors.js';
import type { ReconnectOptions } from './options.js';

export interface Disconnect {
  /** The connection had opened (a handshake that failed did not). */
  opened: boolean;
  /** How long it stayed open, ms. */
  lived: number;
  error?: Error;
  reason: string;
}

export type NextStep =
  | { retry: true; attempt: number; delayMs: number }
  | { retry: false; error: RelayUnreachableError };

export class ReconnectPolicy {
  #failures = 0;
  #everOpened = false;

  constructor(
    private readonly options: ReconnectOptions,
    private readonly random: () => number,
  ) {}

  opened(): void {
    this.#everOpened = true;
  }

  /** A reconnect the client chose (the connection age limit) is not a failure. */
  reset(): void {
    this.#failures = 0;
  }

  next(disconnect: Disconnect): NextStep {
    const cause = disconnect.error ?? new Error(disconnect.reason);
    if (!this.options.enabled || (!this.#everOpened && !this.options.retryInitialConnect)) {
      return { retry: false, error: new RelayUnreachableError(1, cause) };
    }
    // Only a connection that lived a while proves the relay healthy again.
    if (disconnect.opened && disconnect.lived >= this.options.stableAfterMs) this.#failures = 0;
    this.#failures += 1;
    if (this.#failures > this.options.maxAttempts) {
      return { retry: false, error: new RelayUnreachableError(this.#failures, cause) };
    }
    const attempt = this.#failures;
    return { retry: true, attempt, delayMs: backoffDelay(attempt, this.options, this.random) };
  }
}
