/**
 * Timers of one open connection: the keepalive (dead-connection detection, API Gateway's idle
 * timeout, and in v2 the relay's redelivery check) and the proactive reconnect before API
 * Gateway's 2-hour connection limit.
 */
import { PROTOCOL_V2_MARKER } from '@mpc-relay/protocol';
import WebSocket from 'ws';
import { Keepalive, type KeepaliveOptions } from './keepalive.js';

export interface WatchSettings {
  keepalive: KeepaliveOptions;
  v2: boolean;
  /** v2: the app ping runs at least this often (it doubles as the relay's redelivery timer). */
  redeliveryCheckMs: number;
  maxConnectionAgeMs: number;
}

export interface WatchHooks {
  /** Writes a control data frame (the app ping). */
  write(text: string): void;
  /** The connection reached its age limit (the client closes it and reconnects at once). */
  tooOld(): void;
}

export class ConnectionWatch {
  readonly #keepalive: Keepalive;
  #ageTimer: NodeJS.Timeout | undefined;

  constructor(ws: WebSocket, settings: WatchSettings, hooks: WatchHooks) {
    const { keepalive, v2, redeliveryCheckMs } = settings;
    const appPingIntervalMs = !v2
      ? keepalive.appPingIntervalMs
      : keepalive.appPingIntervalMs > 0
        ? Math.min(keepalive.appPingIntervalMs, redeliveryCheckMs)
        : redeliveryCheckMs;
    // v2: the marker makes the ping also ask the relay to resend what is still unacknowledged.
    const appPing = JSON.stringify(v2 ? { action: 'ping', v: PROTOCOL_V2_MARKER } : { action: 'ping' });
    this.#keepalive = new Keepalive(
      { ...keepalive, appPingIntervalMs },
      {
        sendPing: () => {
          if (ws.readyState === WebSocket.OPEN) ws.ping();
        },
        sendAppPing: () => {
          if (ws.readyState === WebSocket.OPEN) hooks.write(appPing);
        },
        onDead: () => ws.terminate(),
      },
    );
    this.#keepalive.start();
    const { maxConnectionAgeMs } = settings;
    if (maxConnectionAgeMs > 0 && Number.isFinite(maxConnectionAgeMs)) {
      this.#ageTimer = setTimeout(() => hooks.tooOld(), maxConnectionAgeMs);
      this.#ageTimer.unref();
    }
  }

  /** Anything received proves the connection alive. */
  markAlive(): void {
    this.#keepalive.markAlive();
  }

  /** A data frame went out: API Gateway's idle timer restarted. */
  markDataSent(): void {
    this.#keepalive.markDataSent();
  }

  stop(): void {
    this.#keepalive.stop();
    clearTimeout(this.#ageTimer);
  }
}
