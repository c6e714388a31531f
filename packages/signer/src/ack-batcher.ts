/**
 * Protocol v2 acknowledgements of deliveries: collected while the listeners of one burst of frames
 * run, then written in as few `{"action":"ack","messageIds":[...]}` frames as the limit allows.
 */
import { MAX_ACK_IDS } from '@mpc-relay/protocol';

export class AckBatcher {
  #pending: string[] = [];
  #scheduled = false;

  /** `write` returns false when no v2 connection is open (the ids are then dropped: see `add`). */
  constructor(private readonly write: (text: string) => boolean) {}

  /** Queues an ack, written after the current listeners ran (the application has the message). */
  add(messageId: string): void {
    this.#pending.push(messageId);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Writes every queued ack now. Without a connection they are dropped: the relay resends those
   * messages after the reconnect, the dedupe memory drops them, and they are acked then.
   */
  flush(): void {
    this.#scheduled = false;
    const ids = this.#pending.splice(0);
    for (let start = 0; start < ids.length; start += MAX_ACK_IDS) {
      const text = JSON.stringify({ action: 'ack', messageIds: ids.slice(start, start + MAX_ACK_IDS) });
      if (!this.write(text)) return;
    }
  }

  /** The connection is gone: what is queued belongs to it. */
  clear(): void {
    this.#pending = [];
  }
}
