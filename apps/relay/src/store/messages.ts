/** The IPC messages between the relay and its store process. */
import type { AwsCredentials } from '@mpc-relay/local-gateway/sigv4';
import type { DynamoRefusal } from '../dynamo-front.js';

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
      compactEveryMs: number;
      /** The only key pair whose signatures the store accepts, and the region of their scope. */
      credentials: AwsCredentials;
      region: string;
      /** The relay's clock is injected (tests): ask it (`now`) before each signature check. */
      clockFromParent: boolean;
    }
  /** A connection the relay accepted on the store's port, sent with its socket as the handle. */
  | { type: 'connection' }
  | { type: 'now'; id: number; now: number }
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
  /** A request refused for its signature (answered by the store process already). */
  | { type: 'signatureRefused'; refusal: DynamoRefusal }
  | { type: 'now'; id: number }
  | { type: 'fault'; cause: string; fatal: boolean }
  | { type: 'recovered'; afterMs: number; failures: number }
  | { type: 'restartMe'; cause: string }
  | { type: 'stats'; id: number; stats: StoreStats }
  | { type: 'compacted'; id: number; stats: StoreStats; error?: string }
  | { type: 'closed'; error?: string };
