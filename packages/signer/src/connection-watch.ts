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
  /**
   * v2: a marked app ping goes out this often, whatever else is sent: it is the relay's redelivery
   * timer (a v2 sendServer does not trigger redelivery, so a busy sender must ping too).
   */
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
  #redeliveryTimer: NodeJS.Timeout | undefined;

  constructor(ws: WebSocket, settings: WatchSettings, hooks: WatchHooks) {
    const { keepalive, v2, redeliveryCheckMs } = settings;
    // v2: the marker makes the ping also ask the relay to resend what is still unacknowledged.
    const appPing = JSON.stringify(v2 ? { action: 'ping', v: PROTOCOL_V2_MARKER } : { action: 'ping' });
    this.#keepalive = new Keepalive(keepalive, {
      sendPing: () => {
        if (ws.readyState === WebSocket.OPEN) ws.ping();
      },
      sendAppPing: () => {
        if (ws.readyState === WebSocket.OPEN) hooks.write(appPing);
      },
      onDead: () => ws.terminate(),
    });
    this.#keepalive.start();
    if (v2 && redeliveryCheckMs > 0 && Number.isFinite(redeliveryCheckMs)) {
      // Not reset by data frames (unlike the idle app ping): sends alone never redeliver.
      this.#redeliveryTimer = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) hooks.write(appPing);
      }, redeliveryCheckMs);
      this.#redeliveryTimer.unref();
    }
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
    clearInterval(this.#redeliveryTimer);
  }
}
