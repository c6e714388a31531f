/** Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"). */
export interface BackoffOptions {
  /** Ceiling of the first retry's delay, in ms. */
  initialDelayMs: number;
  /** The ceiling never grows beyond this, in ms: every delay is bounded by it. */
  maxDelayMs: number;
  /** Growth factor of the ceiling per attempt. */
  multiplier: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2 };

/** The delay ceiling for a 1-based attempt: min(maxDelay, initialDelay * multiplier^(attempt-1)). */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = options.initialDelayMs * options.multiplier ** exponent;
  return Math.min(options.maxDelayMs, Number.isFinite(ceiling) ? ceiling : options.maxDelayMs);
}

/** A full-jitter delay: uniform in [0, ceiling). `random` returns a number in [0, 1). */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * backoffCeiling(attempt, options));
}
