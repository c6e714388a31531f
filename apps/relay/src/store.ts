import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createRelayTable } from '@mpc-relay/handlers';
import dynalite from 'dynalite';
import { UserError } from './errors.js';

export interface LocalStore {
  endpoint: string;
  dataDir: string;
  /**
   * Calls `listener` for every request the store receives: the DynamoDB operation (`PutItem`, ...)
   * and the caller's user agent. Counted where the requests arrive, so handlers running anywhere count.
   */
  onRequest(listener: (operation: string, userAgent: string) => void): void;
  close(): Promise<void>;
}

/** Makes sure the data folder exists and is writable, or explains in one line why not. */
export function prepareDataDir(dataDir: string): string {
  const dir = resolve(dataDir);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    const probe = join(dir, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new UserError(
      `data folder ${dir} is not writable (${code}); pick another with --data-dir or DATA_DIR`,
    );
  }
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One relay per data folder (LevelDB allows one process): `<dir>/relay.lock` holds the owner's pid.
 * A lock left by a process that no longer runs is taken over.
 */
function lockDataDir(dir: string): () => void {
  const lock = join(dir, 'relay.lock');
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const owner = Number(readFileSync(lock, 'utf8').trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new UserError(
        `data folder ${dir} is in use by another relay (pid ${owner}); stop it or pick another --data-dir`,
      );
    }
    writeFileSync(lock, String(process.pid));
  }
  return () => rmSync(lock, { force: true });
}

/**
 * Starts dynalite (embedded DynamoDB) on 127.0.0.1 with a random port, persisted with LevelDB under
 * `<dataDir>/dynamodb`, and creates the relay table (idempotent) with the handlers' own helper.
 */
export async function startStore(dataDir: string, tableName: string, region: string): Promise<LocalStore> {
  const dir = prepareDataDir(dataDir);
  const unlock = lockDataDir(dir);
  const server = dynalite({
    path: join(dir, 'dynamodb'),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  try {
    await new Promise<void>((resolvePromise, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolvePromise();
      });
    });
  } catch (error) {
    unlock();
    throw error;
  }
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolvePromise) => {
      server.close(() => {
        unlock();
        resolvePromise();
      });
      // Keep-alive sockets of the handlers' SDK clients would hold the close for 30 s.
      server.closeAllConnections();
    });
  const client = new DynamoDBClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await createRelayTable(client, tableName, { maxWaitMs: 10_000 });
  } catch (error) {
    await close();
    const message = error instanceof Error ? error.message : String(error);
    if (/lock|LEVEL_|not open/i.test(message)) {
      throw new UserError(`data folder ${dir} is in use by another relay or unreadable (${message})`);
    }
    throw error;
  } finally {
    client.destroy();
  }
  const onRequest = (listener: (operation: string, userAgent: string) => void) => {
    server.on('request', (req: IncomingMessage) => {
      const target = req.headers['x-amz-target'];
      const operation = typeof target === 'string' ? (target.split('.').pop() ?? target) : 'unknown';
      listener(operation, req.headers['user-agent'] ?? '');
    });
  };
  return { endpoint, dataDir: dir, onRequest, close };
}
