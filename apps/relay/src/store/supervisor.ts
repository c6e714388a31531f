import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { AwsCredentials } from '@mpc-relay/local-gateway/sigv4';
import type { DynamoRefusal } from '../dynamo-front.js';
import type { ChildMessage, ParentMessage, StoreStats } from './messages.js';

export interface SupervisorOptions {
  dataDir: string;
  levelDir: string;
  /** The only key pair the store process accepts signatures of (service `dynamodb`), and its region. */
  credentials: AwsCredentials;
  region: string;
  /** The clock of the signature checks (tests move it); default the store process's own. */
  now?: () => number;
  /** Each request the store process refused for its signature. */
  onRefused?: (refusal: DynamoRefusal) => void;
  /** Compaction of the whole store when it served requests since the last one. Default 5 min; 0 = never. */
  compactEveryMs?: number;
  /** One line per store fault, restart and recovery (folder and cause, never data). */
  log: (line: string) => void;
}

/** The first start failed: the store refused its folder (`reason` is one line for the user). */
export class StoreStartRefused extends Error {
  override name = 'StoreStartRefused';
  constructor(
    readonly reason: string,
    readonly repairable: boolean,
  ) {
    super(reason);
  }
}

/** The compiled child entry: next to this file in dist, or dist's copy when run from the sources. */
function childEntry(): string {
  const here = new URL('./process.js', import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return fileURLToPath(here);
  const built = fileURLToPath(new URL('../../dist/store/process.js', import.meta.url));
  if (!existsSync(built))
    throw new Error(`${built} is missing: build the relay first (pnpm --filter @mpc-relay/relay build)`);
  return built;
}

const MAX_BACKOFF_MS = 5_000;
/** A process that served this long resets the restart backoff. */
const HEALTHY_MS = 10_000;

/**
 * Runs the store process and keeps it running: an exit it did not ask for (a crash, a fault
 * inside dynalite or LevelDB, a kill) is logged once with the folder and the cause and the process
 * is started again on the same folder and socket, with a growing pause when it keeps failing.
 * While it is down the front answers the handlers 500 (the SDK retries, then the handlers answer
 * `INTERNAL`); the gateway and every connection stay up.
 */
export class StoreSupervisor {
  restarts = 0;
  private isReady = false;
  private child?: ChildProcess;
  private closing = false;
  private backoffMs = 0;
  private startedAt = 0;
  private nextId = 1;
  private readonly pending = new Map<number, (message: ChildMessage) => void>();
  private lastFault?: string;
  private loggedFault?: string;
  private readonly waiters = new Set<() => void>();
  private reopened = false;
  private readonly requestListeners = new Set<(operation: string, userAgent: string) => void>();
  private timer?: NodeJS.Timeout;
  /** Set when a restart found the folder damaged: the supervisor stops trying. */
  failed?: string;

  constructor(private readonly options: SupervisorOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the first process; rejects with StoreStartRefused when it refuses the folder. */
  start(): Promise<void> {
    return this.spawn(true);
  }

  private spawn(first: boolean): Promise<void> {
    const child = fork(childEntry(), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
      serialization: 'json',
    });
    this.child = child;
    this.isReady = false;
    this.startedAt = Date.now();
    // A message sent as the process ends (EPIPE, channel closed): its exit is handled below.
    child.on('error', () => {});
    let settled = false;
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve();
      };
      child.on('message', (message: ChildMessage) => {
        switch (message.type) {
          case 'requests':
            for (const [operation, userAgent] of message.list) {
              for (const listener of this.requestListeners) listener(operation, userAgent);
            }
            break;
          case 'ready':
            this.isReady = true;
            if (this.reopened) {
              this.reopened = false;
              this.loggedFault = undefined;
              this.options.log(`store in ${this.options.levelDir} takes writes again (reopened)`);
            }
            for (const wake of this.waiters) wake();
            this.waiters.clear();
            settle();
            break;
          case 'refused':
            if (first) settle(new StoreStartRefused(message.reason, message.repairable));
            else {
              this.failed = message.reason;
              this.options.log(`store process cannot restart: ${message.reason}`);
            }
            break;
          case 'signatureRefused':
            this.options.onRefused?.(message.refusal);
            break;
          case 'now':
            child.send({
              type: 'now',
              id: message.id,
              now: (this.options.now ?? Date.now)(),
            } satisfies ParentMessage);
            break;
          case 'fault':
            this.lastFault = message.cause;
            if (this.loggedFault !== message.cause) {
              this.loggedFault = message.cause;
              this.options.log(
                `store fault in ${this.options.levelDir}: ${message.cause}${message.fatal ? '' : ' (requests answered 500 InternalServerError until it clears)'}`,
              );
            }
            break;
          case 'recovered':
            this.loggedFault = undefined;
            this.options.log(
              `store in ${this.options.levelDir} takes writes again (after ${message.failures} failed requests, ${message.afterMs} ms)`,
            );
            break;
          case 'restartMe':
            this.lastFault = message.cause;
            break;
          default:
            if ('id' in message) {
              this.pending.get(message.id)?.(message);
              this.pending.delete(message.id);
            } else if (message.type === 'closed') this.pending.get(0)?.(message);
        }
      });
      child.on('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        for (const [id, answer] of this.pending)
          if (id !== 0) answer({ type: 'closed', error: 'store process exited' });
        if (this.closing) {
          this.pending.get(0)?.({ type: 'closed' });
          return;
        }
        const cause = this.lastFault ?? (signal ? `killed by ${signal}` : `exit code ${code}`);
        this.lastFault = undefined;
        if (first && !settled) {
          settle(new Error(`store process ended before it was ready (${cause})`));
          return;
        }
        if (this.failed) return;
        // 75: it asked to be reopened (a storage fault LevelDB kept after space came back).
        if (code === 75) this.reopened = true;
        this.restart(`${cause}${code === 75 ? ' (reopened to clear the fault)' : ''}`);
      });
      if (this.requestListeners.size > 0) child.send({ type: 'subscribe' } satisfies ParentMessage);
      child.send({
        type: 'start',
        dataDir: this.options.dataDir,
        levelDir: this.options.levelDir,
        compactEveryMs: this.options.compactEveryMs ?? 5 * 60_000,
        credentials: this.options.credentials,
        region: this.options.region,
        clockFromParent: this.options.now !== undefined,
      } satisfies ParentMessage);
    });
  }

  private restart(cause: string): void {
    if (Date.now() - this.startedAt > HEALTHY_MS) this.backoffMs = 0;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(100, this.backoffMs * 2));
    this.restarts++;
    this.options.log(
      `store process for ${this.options.levelDir} ended (${cause}); restarting it on the same folder${wait ? ` in ${wait} ms` : ''}`,
    );
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closing) return;
      this.spawn(false).catch((error) =>
        this.options.log(`store process restart failed: ${(error as Error).message}`),
      );
    }, wait);
  }

  /**
   * Hands a connection accepted on the store's port to the store process, which then owns it;
   * false (the socket still ours) when no store process is ready to take it.
   */
  handOver(socket: Socket): boolean {
    const child = this.child;
    if (!child?.connected || !this.isReady) return false;
    child.send({ type: 'connection' } satisfies ParentMessage, socket, (error) => {
      // The process ended as it was sent: the client sees the connection close and retries.
      if (error) socket.destroy();
    });
    return true;
  }

  /** Resolves once a store process is ready (at once when one is). */
  ready(timeoutMs = 30_000): Promise<void> {
    if (this.child?.connected && this.isReady && !this.timer) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error('store process not ready')), timeoutMs);
      this.waiters.add(() => {
        clearTimeout(timeout);
        resolve();
      });
    });
  }

  private request(type: 'stats' | 'compact'): Promise<StoreStats> {
    const child = this.child;
    if (!child?.connected) return Promise.reject(new Error('store process is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (message) => {
        if ('stats' in message) resolve(message.stats);
        else reject(new Error(('error' in message && message.error) || 'no answer'));
      });
      child.send({ type, id } satisfies ParentMessage);
    });
  }

  /** Every request the store receives: its DynamoDB operation and the caller's user agent. */
  onRequest(listener: (operation: string, userAgent: string) => void): void {
    this.requestListeners.add(listener);
    if (this.requestListeners.size === 1) this.child?.send({ type: 'subscribe' } satisfies ParentMessage);
  }

  /** Open iterators, RSS and requests of the store process. */
  stats(): Promise<StoreStats> {
    return this.request('stats');
  }

  /** Compacts the whole store now (reclaims the table files of deleted items). */
  compact(): Promise<StoreStats> {
    return this.request('compact');
  }

  /** Tests: makes the store process throw from inside, as a fault in dynalite would. */
  crash(reason?: string): void {
    this.child?.send({ type: 'crash', ...(reason ? { reason } : {}) } satisfies ParentMessage);
  }

  /** Closes LevelDB cleanly (the process seals the folder), then the process ends. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 40_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      this.pending.set(0, () => {
        if (child.connected) child.disconnect();
      });
      if (child.connected) child.send({ type: 'close' } satisfies ParentMessage);
      else child.kill('SIGTERM');
    });
  }
}
