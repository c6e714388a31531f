/** Counts deliveries by message id (carried in the payload) and compares them with what was sent. */
export class DeliveryCounter {
  readonly counts = new Map<string, number>();
  /** Deliveries whose id was never sent (must stay empty). */
  readonly strays: string[] = [];

  constructor(readonly label: string) {}

  add(id: string): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  missing(sent: Iterable<string>): string[] {
    return [...sent].filter((id) => !this.counts.has(id));
  }

  duplicated(): string[] {
    return [...this.counts].filter(([, c]) => c > 1).map(([id]) => id);
  }

  unexpected(sent: Iterable<string>): string[] {
    const known = new Set(sent);
    return [...this.counts.keys()].filter((id) => !known.has(id));
  }

  /** Every sent id delivered at least once, nothing that was not sent. */
  complete(sent: Iterable<string>): boolean {
    return this.missing(sent).length === 0;
  }

  summary(sent: readonly string[]): {
    sent: number;
    delivered: number;
    missing: number;
    duplicated: number;
    unexpected: number;
  } {
    return {
      sent: sent.length,
      delivered: this.total,
      missing: this.missing(sent).length,
      duplicated: this.duplicated().length,
      unexpected: this.unexpected(sent).length,
    };
  }
}
