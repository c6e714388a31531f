import { rmSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AwsCredentials } from '@mpc-relay/local-gateway';
import { generateCredentials } from '@mpc-relay/local-gateway/sigv4';
import { afterAll } from 'vitest';
import { type LocalStore, startStore } from '../src/store.js';
import { tempDir } from './helpers.js';

export const STORE_REGION = 'us-east-1';

export interface OpenStoreOptions {
  /** The relay table the store creates. Default `relay`. */
  tableName?: string;
  /** The store's key pair (reopen a folder with the key it was opened with). Default: a new one. */
  credentials?: AwsCredentials;
  /** The client's attempts per request. Default: the SDK's. */
  maxAttempts?: number;
}

/**
 * Relay stores for one test file, each on a temporary folder, with a DynamoDB client signed by
 * its key: every store is closed and every folder removed after the file's tests.
 */
export function testStores() {
  const dirs: string[] = [];
  const stores: LocalStore[] = [];
  afterAll(async () => {
    await Promise.allSettled(stores.map((store) => store.close()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return {
    folder(prefix: string): string {
      const dir = tempDir(prefix);
      dirs.push(dir);
      return dir;
    },
    async open(dataDir: string, options: OpenStoreOptions = {}) {
      const credentials = options.credentials ?? generateCredentials();
      const store = await startStore(dataDir, options.tableName ?? 'relay', STORE_REGION, {
        credentials,
        log: () => {},
      });
      stores.push(store);
      const client = new DynamoDBClient({
        endpoint: store.endpoint,
        region: STORE_REGION,
        credentials,
        ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
      });
      return { store, client, credentials };
    },
  };
}
