import { createRequire } from 'node:module';

type Callback = (error: Error | null, value?: unknown) => void;

/** dynalite's table-description database: a prefixed view of its LevelDB (db/index.js). */
interface TableDb {
  get(key: string, callback: Callback): void;
  put(key: string, value: unknown, callback: Callback): void;
  del(key: string, callback: Callback): void;
}

interface DynaliteDbModule {
  create(options: unknown): { tableDb: TableDb };
}

// The very module instance dynalite's index.js creates its store with.
const dynaliteMain = createRequire(import.meta.url).resolve('dynalite');
const dbModule = createRequire(dynaliteMain)('./db/index.js') as DynaliteDbModule;

let hooked = false;

/**
 * dynalite reads the table's description from LevelDB at the start of every request (one more
 * round trip to LevelDB's thread before the item's own reads and writes). This process is the
 * only one that opens the folder and every change of a description goes through the same
 * `put`/`del`, so it keeps each description it read or wrote here and answers from that copy: a
 * fresh object per read (as LevelDB's JSON decoding gives). While a write is on its way reads go
 * to LevelDB; once it succeeded the copy is the written description; after a failed one the next
 * read asks LevelDB again.
 */
export function cacheTableDescriptions(): void {
  if (hooked) return;
  hooked = true;
  const create = dbModule.create;
  dbModule.create = (options) => {
    const store = create(options);
    cacheReads(store.tableDb);
    return store;
  };
}

function cacheReads(tableDb: TableDb): void {
  const { get, put, del } = tableDb;
  /** Key -> the description's JSON. */
  const copies = new Map<string, string>();
  /** Bumped by every write of a key: a read that began before it must not store what it read. */
  const writes = new Map<string, number>();
  const wrote = (key: string) => writes.set(key, (writes.get(key) ?? 0) + 1);

  tableDb.get = (key, callback) => {
    const copy = copies.get(key);
    if (copy !== undefined) {
      process.nextTick(callback, null, JSON.parse(copy));
      return;
    }
    const before = writes.get(key) ?? 0;
    get.call(tableDb, key, (error, value) => {
      if (!error && value !== undefined && (writes.get(key) ?? 0) === before) {
        copies.set(key, JSON.stringify(value));
      }
      callback(error, value);
    });
  };
  tableDb.put = (key, value, callback) => {
    // While the write is on its way, reads ask LevelDB (old or new description, as it has it).
    wrote(key);
    copies.delete(key);
    const json = JSON.stringify(value);
    put.call(tableDb, key, value, (error) => {
      wrote(key);
      if (!error) copies.set(key, json);
      callback(error);
    });
  };
  tableDb.del = (key, callback) => {
    wrote(key);
    copies.delete(key);
    del.call(tableDb, key, (error) => {
      wrote(key);
      copies.delete(key);
      callback(error);
    });
  };
}
