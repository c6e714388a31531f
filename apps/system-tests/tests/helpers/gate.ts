/** A gate a sending loop passes before each send; closing it parks the loop at a known point. */
export class Gate {
  #open = true;
  #waiters: (() => void)[] = [];
  parked = 0;

  async pass(): Promise<void> {
    if (this.#open) return;
    this.parked += 1;
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.parked -= 1;
  }

  close(): void {
    this.#open = false;
  }

  open(): void {
    this.#open = true;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
