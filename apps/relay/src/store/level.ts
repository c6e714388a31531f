import { createRequire } from 'node:module';

/** The part of classic-level's API the store process uses (dynalite's own copy of `level`). */
export interface LevelDb {
  readonly status: string;
  readonly location: string;
  open(): Promise<void>;
  close(): Promise<void>;
  put(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
  keys(options?: Record<string, unknown>): AsyncIterable<string> & { close(): Promise<void> };
  compactRange(start: string, end: string): Promise<void>;
  getProperty(name: string): string;
  attachResource(resource: object): void;
  detachResource(resource: object): void;
}

/** The private methods of an abstract-level iterator, which its public ones call. */
interface RawIterator {
  _next(): Promise<unknown>;
  _nextv(size: number, options: unknown): Promise<unknown[]>;
  _seek(...args: unknown[]): void;
  _close(): Promise<void>;
}

interface LevelClass {
  new (location: string, options?: Record<string, unknown>): LevelDb;
  repair(location: string): Promise<void>;
  prototype: LevelDb & {
    _open(...args: unknown[]): Promise<void>;
    _close(): Promise<void>;
    _iterator(options: unknown): RawIterator;
  };
}

// The very module instance dynalite opens its database with, so the hooks below see its iterators.
const dynaliteMain = createRequire(import.meta.url).resolve('dynalite');
export const Level = (createRequire(dynaliteMain)('level') as { Level: LevelClass }).Level;

const iterators = new Set<object>();
const open = new Set<LevelDb>();
let hooked = false;

/**
 * Counts the iterators open on every database of this process (abstract-level attaches each one
 * to its database until it is closed) and remembers the open databases (for compaction). Read by
 * the store's stats, the tests and the bench: an iterator left open after a Query is a leak.
 */
export function trackLevel(): void {
  if (hooked) return;
  hooked = true;
  const proto = Level.prototype;
  const { attachResource, detachResource, _open, _close, _iterator } = proto;
  proto._iterator = function (options) {
    return fetchAheadOnFirstNext(_iterator.call(this, options));
  };
  proto.attachResource = function (resource) {
    if (typeof (resource as { next?: unknown }).next === 'function') iterators.add(resource);
    attachResource.call(this, resource);
  };
  proto.detachResource = function (resource) {
    iterators.delete(resource);
    detachResource.call(this, resource);
  };
  proto._open = async function (...args) {
    await _open.apply(this, args);
    open.add(this);
  };
  proto._close = async function () {
    open.delete(this);
    await _close.call(this);
  };
}

export function openIterators(): number {
  return iterators.size;
}

export function openDatabases(): LevelDb[] {
  return [...open];
}

/** As many entries as classic-level's later next() calls fetch at once (its highWaterMarkBytes bounds them too). */
const FIRST_BATCH = 1000;

/**
 * classic-level's iterator fetches one entry on its first next() and the rest on the second: two
 * round trips to LevelDB's thread for a Query of one item, the second only to learn that the range
 * ended. Every iterator of this process reads a key range for dynalite (Query, Scan, a table's
 * deletion) and reads on, so the first next() fetches a batch as the later ones do: a range of a
 * few items costs one round trip. The batch is served before anything else; a seek or close drops it.
 */
function fetchAheadOnFirstNext(iterator: RawIterator): RawIterator {
  const { _next, _nextv, _seek, _close } = iterator;
  let first = true;
  let batch: unknown[] = [];
  let position = 0;
  iterator._next = async function () {
    if (first) {
      first = false;
      batch = await _nextv.call(this, FIRST_BATCH, {});
      position = 0;
    }
    if (position < batch.length) return batch[position++];
    return _next.call(this);
  };
  iterator._nextv = async function (size, options) {
    first = false;
    if (position < batch.length) {
      const chunk = batch.slice(position, position + size);
      position += chunk.length;
      return chunk;
    }
    return _nextv.call(this, size, options);
  };
  iterator._seek = function (...args) {
    first = true;
    batch = [];
    position = 0;
    _seek.apply(this, args);
  };
  iterator._close = function () {
    batch = [];
    position = 0;
    return _close.call(this);
  };
  return iterator;
}
