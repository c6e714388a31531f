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

interface LevelClass {
  new (location: string, options?: Record<string, unknown>): LevelDb;
  repair(location: string): Promise<void>;
  prototype: LevelDb & { _open(...args: unknown[]): Promise<void>; _close(): Promise<void> };
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
  const { attachResource, detachResource, _open, _close } = proto;
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
