/**
 * The store process: dynalite (embedded DynamoDB) on LevelDB, run by the relay as a child process
 * so that nothing inside it (a native LevelDB failure, an exception dynalite throws) can take the
 * gateway and its connections down. The parent supervises it (store/supervisor.ts) and restarts it
 * on the same folder; it speaks to it over the IPC channel (messages.ts), and the handlers reach it
 * through the relay's verifying front (dynamo-front.ts), which forwards to this process's Unix
 * socket.
 */
import { chmodSync, rmSync, statfsSync } from 'node:fs';
import { type IncomingMessage, Server } from 'node:http';
import dynalite from 'dynalite';
import { checkStore, countItems, StoreRefused, sealStore } from './integrity.js';
import { openDatabases, openIterators, trackLevel } from './level.js';
import type { ChildMessage, ParentMessage, StoreStats } from './messages.js';

trackLevel();

const send = (message: ChildMessage) => {
  if (process.connected) process.send?.(message);
};

function causeOf(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

const WRITES = /\.(PutItem|UpdateItem|DeleteItem|BatchWriteItem)$/;

let server: Server | undefined;
/** The relay watches every request (its log and inspector count them): sent in batches. */
let subscribed = false;
let batch: [string, string][] = [];
let flush: NodeJS.Timeout | undefined;
let start: Extract<ParentMessage, { type: 'start' }> | undefined;
let requests = 0;
let compactedAt = 0;
let closing: Promise<void> | undefined;
/** A storage fault is in progress: a probe write checks when the store takes writes again. */
let faulted: { cause: string; since: number; failures: number } | undefined;
let probeTimer: NodeJS.Timeout | undefined;

process.on('uncaughtException', (error) => {
  send({ type: 'fault', cause: causeOf(error), fatal: true });
  process.exit(70);
});
process.on('unhandledRejection', (error) => {
  send({ type: 'fault', cause: causeOf(error), fatal: true });
  process.exit(70);
});
// The relay is gone (killed): close LevelDB and go too.
process.on('disconnect', () => void close().finally(() => process.exit(0)));

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'start':
      start = message;
      void begin(message);
      break;
    case 'subscribe':
      subscribed = true;
      break;
    case 'stats':
      send({ type: 'stats', id: message.id, stats: stats() });
      break;
    case 'compact':
      void compact().then(
        () => send({ type: 'compacted', id: message.id, stats: stats() }),
        (error) => send({ type: 'compacted', id: message.id, stats: stats(), error: causeOf(error) }),
      );
      break;
    case 'crash':
      // Tests: a fault inside the store process, as a native crash would be.
      setImmediate(() => {
        throw new Error(message.reason ?? 'store crash requested');
      });
      break;
    case 'close':
      void close().then(
        () => send({ type: 'closed' }),
        (error) => send({ type: 'closed', error: causeOf(error) }),
      );
      break;
  }
});

function stats(): StoreStats {
  return {
    pid: process.pid,
    openIterators: openIterators(),
    rssBytes: process.memoryUsage.rss(),
    requests,
    ...(faulted ? { fault: faulted.cause } : {}),
  };
}

async function begin(options: Extract<ParentMessage, { type: 'start' }>): Promise<void> {
  try {
    await checkStore(options.dataDir, options.levelDir);
  } catch (error) {
    if (error instanceof StoreRefused) {
      send({ type: 'refused', reason: error.reason, repairable: error.repairable });
      process.exit(2);
    }
    throw error;
  }
  const store = dynalite({ path: options.levelDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server = store;
  store.on('request', (req, res) => {
    requests++;
    if (subscribed) report(req);
    // Reads often still work on a full disk: only a write that succeeds ends a fault.
    if (faulted && WRITES.test(String(req.headers['x-amz-target'] ?? ''))) {
      res.on('finish', () => {
        if (res.statusCode < 500) recovered();
      });
    }
  });
  store.on('internalError', (error: unknown) => fault(causeOf(error)));
  store.keepAliveTimeout = 60_000;
  // Left by a store process that died: the relay's lock says no other one runs on this folder.
  rmSync(options.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    store.once('error', reject);
    store.listen(options.socketPath, () => {
      store.off('error', reject);
      resolve();
    });
  }).catch((error) => {
    send({ type: 'listenFailed', cause: causeOf(error), code: (error as NodeJS.ErrnoException).code });
    process.exit(3);
  });
  if (options.compactEveryMs > 0) {
    setInterval(() => {
      if (requests > compactedAt && !faulted) void compact().catch((error) => fault(causeOf(error)));
    }, options.compactEveryMs).unref();
  }
  chmodSync(options.socketPath, 0o600);
  send({ type: 'ready' });
}

function report(req: IncomingMessage): void {
  const target = req.headers['x-amz-target'];
  const operation = typeof target === 'string' ? (target.split('.').pop() ?? target) : 'unknown';
  batch.push([operation, req.headers['user-agent'] ?? '']);
  // One IPC message per 20 ms at most, not one per request: the hop stays cheap.
  if (flush) return;
  flush = setTimeout(() => {
    flush = undefined;
    send({ type: 'requests', list: batch });
    batch = [];
  }, 20);
}

/**
 * LevelDB reclaims the table files of deleted items only when it compacts them; a relay's inbox
 * is written and emptied all day, so the store compacts it now and then instead of waiting for a
 * restart.
 */
async function compact(): Promise<void> {
  compactedAt = requests;
  for (const db of openDatabases()) await db.compactRange('\u0000', '\uffff');
}

/**
 * One line per fault (the parent logs it); the store keeps answering (500 InternalServerError)
 * while a probe write checks every second whether it takes writes again. LevelDB keeps failing
 * every write after a failed background write, even once space is back: then only a reopen
 * helps, so the process asks to be restarted.
 */
function fault(cause: string): void {
  if (faulted) {
    faulted.failures++;
    return;
  }
  faulted = { cause, since: Date.now(), failures: 1 };
  send({ type: 'fault', cause, fatal: false });
  probeTimer = setInterval(() => void probe(), 1_000);
  probeTimer.unref();
}

function recovered(): void {
  if (!faulted) return;
  send({ type: 'recovered', afterMs: Date.now() - faulted.since, failures: faulted.failures });
  faulted = undefined;
  if (probeTimer) clearInterval(probeTimer);
  probeTimer = undefined;
}

async function probe(): Promise<void> {
  const db = openDatabases()[0];
  if (!db || !start) return;
  try {
    await db.put('~relay-probe', Date.now());
    await db.del('~relay-probe');
    recovered();
  } catch {
    if (!hasSpace(start.levelDir)) return;
    // Space is back but LevelDB still refuses writes: its background error sticks until reopened.
    send({ type: 'restartMe', cause: faulted?.cause ?? 'writes refused' });
    await close().catch(() => {});
    process.exit(75);
  }
}

function hasSpace(dir: string): boolean {
  try {
    const fs = statfsSync(dir);
    // Room for a write buffer (4 MB) and a new manifest, or LevelDB fails again at once.
    return fs.bavail * fs.bsize > 8 * 1024 * 1024 || fs.bavail / Math.max(fs.blocks, 1) > 0.1;
  } catch {
    return false;
  }
}

/**
 * Stops taking requests, counts the items on the open database, closes it and seals the folder
 * (integrity.ts): the seal records the files as LevelDB left them, the log included.
 */
function close(): Promise<void> {
  closing ??= (async () => {
    const current = server;
    if (!current) return;
    // http.Server's own close: dynalite's would close the database before it is counted.
    await new Promise<void>((resolve) => {
      Server.prototype.close.call(current, () => resolve());
      current.closeAllConnections();
    });
    const db = openDatabases()[0];
    if (!db) return;
    const items = faulted ? undefined : await countItems(db).catch(() => undefined);
    await db.close();
    if (start && items !== undefined) sealStore(start.dataDir, start.levelDir, items);
  })();
  return closing;
}
