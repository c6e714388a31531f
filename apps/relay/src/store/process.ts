/**
 * The store process: dynalite (embedded DynamoDB) on LevelDB, run by the relay as a child process
 * so that nothing inside it (a native LevelDB failure, an exception dynalite throws) can take the
 * gateway and its connections down. The parent supervises it (store/supervisor.ts) and restarts it
 * on the same folder; it speaks to it over the IPC channel (messages.ts). The relay listens on the
 * store's loopback port and hands every connection it accepts to this process, which checks each
 * request's signature (dynamo-front.ts) before dynalite sees it: one HTTP hop per request, with no
 * socket file and no second listener.
 */
import { statfsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { createSigV4Verifier, type SigV4Verifier } from '@mpc-relay/local-gateway/sigv4';
import dynalite from 'dynalite';
import { createVerifyingListener } from '../dynamo-front.js';
import { checkStore, countItems, StoreRefused, sealStore } from './integrity.js';
import { openDatabases, openIterators, trackLevel } from './level.js';
import type { ChildMessage, ParentMessage, StoreStats } from './messages.js';
import { cacheTableDescriptions } from './tables.js';

trackLevel();
cacheTableDescriptions();

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

/** The verifying HTTP server the relay's connections are handed to (it never listens itself). */
let server: Server | undefined;
/** Every handed-over connection still open (the server never listens, so it does not track them). */
const connections = new Set<Socket>();
let nextClockId = 1;
const clockAnswers = new Map<number, (now: number) => void>();
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

process.on('message', (message: ParentMessage, handle?: unknown) => {
  switch (message.type) {
    case 'connection': {
      const socket = handle as Socket | undefined;
      if (!socket) break;
      // The relay hands connections over only once this process said it is ready.
      if (server && !closing) serve(server, socket);
      else socket.destroy();
      break;
    }
    case 'now':
      clockAnswers.get(message.id)?.(message.now);
      clockAnswers.delete(message.id);
      break;
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
  const front = createServer(
    createVerifyingListener({
      store,
      verifier: verifierFor(options),
      onRefused: (refusal) => send({ type: 'signatureRefused', refusal }),
    }),
  );
  front.keepAliveTimeout = 60_000;
  server = front;
  if (options.compactEveryMs > 0) {
    setInterval(() => {
      if (requests > compactedAt && !faulted) void compact().catch((error) => fault(causeOf(error)));
    }, options.compactEveryMs).unref();
  }
  send({ type: 'ready' });
}

function serve(front: Server, socket: Socket): void {
  connections.add(socket);
  socket.once('close', () => connections.delete(socket));
  front.emit('connection', socket);
}

/** The relay's key only; with an injected relay clock (tests), its time is asked before each check. */
function verifierFor(options: Extract<ParentMessage, { type: 'start' }>): SigV4Verifier {
  const base = { service: 'dynamodb' as const, region: options.region, credentials: options.credentials };
  if (!options.clockFromParent) return createSigV4Verifier(base);
  let now = Date.now();
  const verifier = createSigV4Verifier({ ...base, now: () => now });
  return {
    service: verifier.service,
    region: verifier.region,
    verify: async (request) => {
      now = await new Promise<number>((resolve) => {
        const id = nextClockId++;
        clockAnswers.set(id, resolve);
        send({ type: 'now', id });
      });
      return verifier.verify(request);
    },
  };
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
    // No new requests (the handlers' keep-alive connections included); dynalite's database
    // stays open until it is counted.
    current.removeAllListeners('request');
    for (const socket of connections) socket.destroy();
    const db = openDatabases()[0];
    if (!db) return;
    const items = faulted ? undefined : await countItems(db).catch(() => undefined);
    await db.close();
    if (start && items !== undefined) sealStore(start.dataDir, start.levelDir, items);
  })();
  return closing;
}
