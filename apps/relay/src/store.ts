import {
  accessSync,
  chmodSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createRelayTable } from '@mpc-relay/handlers';
import { type AwsCredentials, createSigV4Verifier } from '@mpc-relay/local-gateway';
import { startDynamoFront } from './dynamo-front.js';
import { UserError } from './errors.js';
import { describeRepair, repairStore } from './store/integrity.js';
import type { StoreStats } from './store/messages.js';
import { StoreStartRefused, StoreSupervisor } from './store/supervisor.js';

export interface LocalStore {
  /** The verifying front (SigV4, service `dynamodb`): the store's only network entrance. */
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
 * dynalite's Unix socket: in the data folder (0700, so only this user reaches it) unless that path
 * is too long for a socket (about 107 bytes), then in a private temporary folder.
 */
function socketPathFor(dir: string): { path: string; cleanup: () => void } {
  const inData = join(dir, 'dynamodb.sock');
  if (Buffer.byteLength(inData) <= 100) {
    rmSync(inData, { force: true }); // left by a relay that was killed (the lock is ours now)
    return { path: inData, cleanup: () => rmSync(inData, { force: true }) };
  }
  const temp = mkdtempSync(join(tmpdir(), 'mpc-relay-'));
  return { path: join(temp, 'dynamodb.sock'), cleanup: () => rmSync(temp, { recursive: true, force: true }) };
}

export interface StoreAuth {
  /** The relay's key pair: the only one the DynamoDB front accepts. */
  credentials: AwsCredentials;
  /** Clock of the signature checks (tests move it). */
  now?: () => number;
  /** Each refused request: the AWS error code, the key id it named and the operation (no secret). */
  onRefused?: (refusal: { code: string; accessKeyId?: string; operation?: string }) => void;
}

export interface StartStoreOptions extends StoreAuth {
  /** Store faults, restarts and recoveries, one line each. Default: stderr. */
  log?: (line: string) => void;
  /** Run LevelDB's repair on the folder first and report what it kept (`--repair`). */
  repair?: boolean;
  compactEveryMs?: number;
}

/**
 * Starts dynalite (embedded DynamoDB) in its own supervised process (store/process.ts) on a Unix
 * socket, persisted with LevelDB under `<dataDir>/dynamodb` (0700) once the folder passed its
 * checks (store/integrity.ts), behind the verifying front on 127.0.0.1 with a random port (in this
 * process: its endpoint stays while the store process restarts, and answers 500 meanwhile), and
 * creates the relay table (idempotent) with the handlers' own helper, signed with the relay's key.
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
  const socket = socketPathFor(dir);
  const supervisor = new StoreSupervisor({
    dataDir: dir,
    levelDir,
    socketPath: socket.path,
    log,
    ...(options.compactEveryMs !== undefined ? { compactEveryMs: options.compactEveryMs } : {}),
  });
  let front: Awaited<ReturnType<typeof startDynamoFront>>;
  try {
    if (options.repair) {
      for (const line of describeRepair(await repairStore(dir, levelDir))) log(line);
    }
    await supervisor.start();
    front = await startDynamoFront({
      // dynalite is in the store process: the front forwards each verified request to its socket.
      target: { socketPath: socket.path },
      verifier: createSigV4Verifier({
        service: 'dynamodb',
        region,
        credentials: options.credentials,
        ...(options.now ? { now: options.now } : {}),
      }),
      ...(options.onRefused ? { onRefused: options.onRefused } : {}),
    });
  } catch (error) {
    await supervisor.close();
    socket.cleanup();
    unlock();
    if (error instanceof StoreStartRefused) throw new UserError(error.reason);
    throw error;
  }
  const endpoint = front.endpoint;
  const close = async () => {
    await front.close();
    await supervisor.close();
    socket.cleanup();
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
