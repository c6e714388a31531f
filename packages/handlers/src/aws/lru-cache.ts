/**
 * Stands in for `mnemonist/lru-cache` in the bundles (scripts/bundle-options.mjs). Its only user is
 * the DynamoDB client's endpoint-discovery cache (`@aws-sdk/endpoint-cache`), which every client
 * builds in its constructor (1000 entries of typed arrays) and which no operation the handlers run
 * reads or writes (DynamoDB endpoint discovery is off unless asked for). The same LRU contract on
 * a Map, without mnemonist and its iterator helpers (about 7 KiB).
 */
export default class LRUCache<K, V> {
  readonly capacity: number;
  readonly #items = new Map<K, V>();

  constructor(capacity: number) {
    if (!(capacity > 0)) throw new Error('LRUCache: capacity must be a positive number');
    this.capacity = capacity;
  }

  get size(): number {
    return this.#items.size;
  }

  has(key: K): boolean {
    return this.#items.has(key);
  }

  /** The value without making it the most recently used. */
  peek(key: K): V | undefined {
    return this.#items.get(key);
  }

  get(key: K): V | undefined {
    if (!this.#items.has(key)) return undefined;
    const value = this.#items.get(key) as V;
    this.#items.delete(key);
    this.#items.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.#items.delete(key);
    this.#items.set(key, value);
    if (this.#items.size > this.capacity) this.#items.delete(this.#items.keys().next().value as K);
  }

  delete(key: K): boolean {
    return this.#items.delete(key);
  }

  clear(): void {
    this.#items.clear();
  }
}
