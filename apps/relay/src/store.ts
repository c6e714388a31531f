import { accessSync, chmodSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createRelayTable } from '@mpc-relay/handlers';
import type { AwsCredentials } from '@mpc-relay/local-gateway';
import { answerInternalServerError, type DynamoRefusal } from './dynamo-front.js';
import { UserError } from './errors.js';
import { describeRepair, repairStore } from './store/integrity.js';
import type { StoreStats } from './store/messages.js';
import { StoreStartRefused, StoreSupervisor } from './store/supervisor.js';

export interface LocalStore {
  /** The store's only network entrance (SigV4, service `dynamodb`, checked in the store process). */
  endpoint: string;
  dataDir: string;
  /**
   * Calls `listener` for every request the store receives: the DynamoDB operation (`PutItem`, ...)
   * and the caller's user agent. Counted where the requests arrive, so handlers running anywhere count.
   */
  onRequest(listener: (operation: string, userAgent: string) => void): void;
  /** The LevelDB folder, `<dataDir>/dynamodb`. */
  levelDir: string;
  /** The store process and its restarts. */
  supervisor: StoreSupervisor;
  /** Open LevelDB iterators, RSS and requests of the store process. */
  stats(): Promise<StoreStats>;
  /** Compacts the whole store now. */
  compact(): Promise<StoreStats>;
  close(): Promise<void>;
}

/**
 * Files this process creates from now on are private (0600 / 0700), LevelDB's included: it
 * creates new table and log files for as long as it runs, so the mask stays. Only ever tightens.
 */
export function restrictFileModes(): void {
  try {
    process.umask(process.umask() | 0o077);
  } catch {
    // Worker threads cannot change the umask; files created here are chmod-ed explicitly.
  }
}

/** Makes sure the data folder exists (created 0700) and is writable, or explains in one line why not. */
export function prepareDataDir(dataDir: string): string {
  const dir = resolve(dataDir);
  restrictFileModes();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
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
 * The store's port on loopback. The relay holds it, so it stays the same while the store process
 * restarts: each accepted connection goes, unread, to the store process, which checks every request's
 * signature and answers it; while no store process is ready, this process answers 500
 * `InternalServerError` (the SDK retries) and closes the connection, so the retry reaches the
 * next store process.
 */
async function listenForStore(
  supervisor: StoreSupervisor,
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const unavailable = createHttpServer((req, res) => {
    req.resume();
    answerInternalServerError(res, true);
  });
  const held = new Set<Socket>();
  const server: Server = createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
    if (supervisor.handOver(socket)) return;
    held.add(socket);
    socket.once('close', () => held.delete(socket));
    unavailable.emit('connection', socket);
    socket.resume();
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    // Stops listening at once. Not waiting for the close callback: it would wait for every
    // connection handed to the store process, which closes them when it is closed itself.
    close: async () => {
      server.close();
      for (const socket of held) socket.destroy();
    },
  };
}

export interface StoreAuth {
  /** The relay's key pair: the only one the DynamoDB front accepts. */
  credentials: AwsCredentials;
  /** Clock of the signature checks (tests move it). */
  now?: () => number;
  /** Each refused request: the AWS error code, the key id it named and the operation (no secret). */
  onRefused?: (refusal: DynamoRefusal) => void;
}

export interface StartStoreOptions extends StoreAuth {
  /** Store faults, restarts and recoveries, one line each. Default: stderr. */
  log?: (line: string) => void;
  /** Run LevelDB's repair on the folder first and report what it kept (`--repair`). */
  repair?: boolean;
  compactEveryMs?: number;
}

/**
 * Starts dynalite (embedded DynamoDB) in its own supervised process (store/process.ts), persisted
 * with LevelDB under `<dataDir>/dynamodb` (0700) once the folder passed its checks
 * (store/integrity.ts), on a random port of 127.0.0.1 that this process holds and whose
 * connections the store process serves, verifying each request's signature (see listenForStore),
 * and creates the relay table (idempotent) with the handlers' own helper, signed with the relay's key.
 */
export async function startStore(
  dataDir: string,
  tableName: string,
  region: string,
  options: StartStoreOptions,
): Promise<LocalStore> {
  const dir = prepareDataDir(dataDir);
  const unlock = lockDataDir(dir);
  const levelDir = join(dir, 'dynamodb');
  try {
    mkdirSync(levelDir, { recursive: true, mode: 0o700 });
    chmodSync(levelDir, 0o700);
  } catch {
    // A folder this process may not change: the store process's check says so in one line.
  }
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const supervisor = new StoreSupervisor({
    dataDir: dir,
    levelDir,
    credentials: options.credentials,
    region,
    ...(options.now ? { now: options.now } : {}),
    ...(options.onRefused ? { onRefused: options.onRefused } : {}),
    log,
    ...(options.compactEveryMs !== undefined ? { compactEveryMs: options.compactEveryMs } : {}),
  });
  let front: Awaited<ReturnType<typeof listenForStore>>;
  try {
    if (options.repair) {
      for (const line of describeRepair(await repairStore(dir, levelDir))) log(line);
    }
    await supervisor.start();
    front = await listenForStore(supervisor);
  } catch (error) {
    await supervisor.close();
    unlock();
    if (error instanceof StoreStartRefused) throw new UserError(error.reason);
    throw error;
  }
  const endpoint = front.endpoint;
  const close = async () => {
    await front.close();
    await supervisor.close();
    unlock();
  };
  const client = new DynamoDBClient({ endpoint, region, credentials: options.credentials });
  try {
    await createRelayTable(client, tableName, { maxWaitMs: 10_000 });
  } catch (error) {
    await close();
    throw error;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    dataDir: dir,
    levelDir,
    supervisor,
    onRequest: (listener) => supervisor.onRequest(listener),
    stats: () => supervisor.stats(),
    compact: () => supervisor.compact(),
    close,
  };
}
