/**
 * Protocol v2 duplicate suppression on the receiving side: the ids of recent deliveries, bounded
 * (the oldest forgotten first), so a redelivery of a message already handed to the application
 * (our ack was lost or late) is recognised and dropped.
 */
export class RecentIds {
  /** Insertion ordered: the first key is the oldest. */
  readonly #ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** Remembers `id`; false when it was already remembered (a duplicate). */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    while (this.#ids.size > this.capacity) {
      const oldest = this.#ids.values().next().value;
      if (oldest === undefined) break;
      this.#ids.delete(oldest);
    }
    return true;
  }
}
