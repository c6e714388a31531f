/**
 * Keepalive of one connection, two mechanisms with two jobs:
 * - WebSocket ping frames every `pingIntervalMs` detect a dead connection: if nothing at all (no
 *   pong, no frame) arrived since the previous ping, the connection is declared dead and terminated
 *   (the client then reconnects). Control frames do not count as activity for API Gateway.
 * - An application `{"action":"ping"}` data frame whenever no data frame was sent for
 *   `appPingIntervalMs`, which resets API Gateway's 10-minute idle timeout.
 */
export interface KeepaliveOptions {
  /** WebSocket ping interval; 0 disables dead-connection detection. Default 30 s. */
  pingIntervalMs: number;
  /** Longest time without an outgoing data frame before an app ping; 0 disables. Default 4 min. */
  appPingIntervalMs: number;
}

export const DEFAULT_KEEPALIVE: KeepaliveOptions = { pingIntervalMs: 30_000, appPingIntervalMs: 240_000 };

export interface KeepaliveHooks {
  sendPing(): void;
  sendAppPing(): void;
  onDead(): void;
}

export class Keepalive {
  #alive = true;
  #lastDataSentAt = Date.now();
  #pingTimer: NodeJS.Timeout | undefined;
  #appTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly options: KeepaliveOptions,
    private readonly hooks: KeepaliveHooks,
  ) {}

  start(): void {
    this.#lastDataSentAt = Date.now();
    if (this.options.pingIntervalMs > 0) {
      this.#pingTimer = setInterval(() => this.#pingTick(), this.options.pingIntervalMs);
      this.#pingTimer.unref();
    }
    this.#scheduleAppPing(this.options.appPingIntervalMs);
  }

  /** Anything received proves the connection alive. */
  markAlive(): void {
    this.#alive = true;
  }

  /** A data frame was sent: it resets the idle timeout, so the app ping can wait. */
  markDataSent(): void {
    this.#lastDataSentAt = Date.now();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#pingTimer);
    clearTimeout(this.#appTimer);
  }

  #pingTick(): void {
    if (!this.#alive) {
      this.stop();
      this.hooks.onDead();
      return;
    }
    this.#alive = false;
    this.hooks.sendPing();
  }

  #scheduleAppPing(delayMs: number): void {
    if (this.options.appPingIntervalMs <= 0 || this.#stopped) return;
    this.#appTimer = setTimeout(() => this.#appTick(), Math.max(0, delayMs));
    this.#appTimer.unref();
  }

  #appTick(): void {
    if (this.#stopped) return;
    const idleFor = Date.now() - this.#lastDataSentAt;
    if (idleFor >= this.options.appPingIntervalMs) {
      this.hooks.sendAppPing();
      this.#lastDataSentAt = Date.now();
      this.#scheduleAppPing(this.options.appPingIntervalMs);
    } else {
      this.#scheduleAppPing(this.options.appPingIntervalMs - idleFor);
    }
  }
}
