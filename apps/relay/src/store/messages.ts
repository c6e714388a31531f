/** The IPC messages between the relay and its store process. */

export interface StoreStats {
  pid: number;
  /** LevelDB iterators open right now: 0 whenever no request is being answered. */
  openIterators: number;
  rssBytes: number;
  /** HTTP requests the process has received since it started. */
  requests: number;
  /** The storage fault in progress, if any. */
  fault?: string;
}

export type ParentMessage =
  | {
      type: 'start';
      dataDir: string;
      levelDir: string;
      /** The Unix socket it listens on (the same one after a restart: the front forwards to it). */
      socketPath: string;
      compactEveryMs: number;
    }
  /** Report every request (operation, user agent) from now on, in batches. */
  | { type: 'subscribe' }
  | { type: 'stats'; id: number }
  | { type: 'compact'; id: number }
  | { type: 'crash'; reason?: string }
  | { type: 'close' };

export type ChildMessage =
  | { type: 'ready' }
  /** [operation, user agent] of each request since the last batch. */
  | { type: 'requests'; list: [string, string][] }
  | { type: 'refused'; reason: string; repairable: boolean }
  | { type: 'listenFailed'; cause: string; code?: string }
  | { type: 'fault'; cause: string; fatal: boolean }
  | { type: 'recovered'; afterMs: number; failures: number }
  | { type: 'restartMe'; cause: string }
  | { type: 'stats'; id: number; stats: StoreStats }
  | { type: 'compacted'; id: number; stats: StoreStats; error?: string }
  | { type: 'closed'; error?: string };
