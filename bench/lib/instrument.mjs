/**
 * Outside-in instrumentation of the relay process (no change to the relay's code):
 * - every handler invocation is counted and timed (the bench points the relay at wrapper modules,
 *   instrumented-bundles.mjs, whose `handler` is the bundle's wrapped by `wrapHandler`), and runs
 *   inside an AsyncLocalStorage context naming its route;
 * - every outgoing HTTP request of the process is seen by wrapping `http.request`: DynamoDB calls
 *   (by their `X-Amz-Target` header, to dynalite) and management API posts (`/@connections/`) are
 *   counted, timed (request -> response end) and attributed to the route whose handler made them.
 * DynamoDB request bodies are parsed for the operation's shape (Query index, ConsistentRead) and
 * the size of items written, so the cost model can use DynamoDB's capacity-unit rules.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { BroadcastChannel, isMainThread } from 'node:worker_threads';

const als = new AsyncLocalStorage();
const MAX_SAMPLES = 50_000;

let routes = new Map();
let outside = newBucket('(outside any handler)');
let items = new Map();

function newBucket(key) {
  return {
    key,
    invocations: 0,
    errors: 0,
    handlerMs: [],
    dynamodb: {},
    dynamodbRequests: 0,
    dynamodbMs: [],
    dynamodbMsPerInvocation: [],
    ownMs: [],
    waitingMs: [],
    dynamodbWallMs: [],
    otherWallMs: [],
    handlerWithoutOtherMs: [],
    posts: 0,
    postMs: [],
    postStatus: {},
    queries: {},
    otherHttp: 0,
  };
}

function newWait() {
  return { pending: 0, since: 0, ms: 0 };
}

function bucketFor(key) {
  let b = routes.get(key);
  if (!b) {
    b = newBucket(key);
    routes.set(key, b);
  }
  return b;
}

function push(list, value) {
  if (list.length < MAX_SAMPLES) list.push(value);
}

function now() {
  return Number(process.hrtime.bigint()) / 1e6;
}

function routeKeyOf(name, event) {
  if (name === 'authorizer') return 'authorizer ($connect)';
  const ctx = event?.requestContext ?? {};
  const route = ctx.routeKey ?? name;
  if (route === 'sendServer') {
    const peer = ctx.authorizer?.peerType;
    if (peer === 'mpc') return 'sendServer (mpc -> cli)';
    if (peer === 'cli') return 'sendServer (cli -> mpc)';
  }
  return route;
}

/** The bundle's handler, counted and timed, its calls attributed to its route. */
export function wrapHandler(name, fn) {
  if (typeof fn !== 'function') return fn;
  return async function benchWrappedHandler(event, context) {
    const key = routeKeyOf(name, event);
    const bucket = bucketFor(key);
    const rec = {
      bucket,
      dynamodbMs: 0,
      postMs: 0,
      wait: { all: newWait(), dynamodb: newWait(), other: newWait() },
    };
    bucket.invocations++;
    const t0 = now();
    try {
      return await als.run(rec, () => fn(event, context));
    } catch (error) {
      bucket.errors++;
      throw error;
    } finally {
      const ms = now() - t0;
      push(bucket.handlerMs, ms);
      push(bucket.dynamodbMsPerInvocation, rec.dynamodbMs);
      // Own code: the handler's time minus the time at least one call (store, management API) was
      // outstanding (calls made in parallel count once).
      push(bucket.ownMs, ms - rec.wait.all.ms);
      push(bucket.waitingMs, rec.wait.all.ms);
      push(bucket.dynamodbWallMs, rec.wait.dynamodb.ms);
      // Wall time with a call other than DynamoDB outstanding: the management POST(s).
      push(bucket.otherWallMs, rec.wait.other.ms);
      push(bucket.handlerWithoutOtherMs, ms - rec.wait.other.ms);
    }
  };
}

/** DynamoDB item size (bytes) by the documented rules, from its JSON AttributeValue map. */
export function itemSize(item) {
  let size = 0;
  for (const [name, value] of Object.entries(item ?? {})) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

function valueSize(v) {
  if (v == null || typeof v !== 'object') return 0;
  if ('S' in v) return Buffer.byteLength(v.S);
  if ('N' in v) return Math.ceil(String(v.N).replace(/[-.]/g, '').replace(/^0+/, '').length / 2) + 1;
  if ('B' in v) return Buffer.from(v.B, 'base64').length;
  if ('BOOL' in v || 'NULL' in v) return 1;
  if ('M' in v) return 3 + itemSize(v.M) + Object.keys(v.M).length;
  if ('L' in v) return 3 + v.L.reduce((s, x) => s + valueSize(x) + 1, 0);
  if ('SS' in v) return v.SS.reduce((s, x) => s + Buffer.byteLength(x), 0);
  if ('NS' in v) return v.NS.reduce((s, x) => s + valueSize({ N: x }), 0);
  return 0;
}

function kindOf(item) {
  const pk = item?.pk?.S ?? '';
  const prefix = pk.split('#')[0] || '?';
  return prefix;
}

function describeDynamoBody(op, text) {
  try {
    const body = JSON.parse(text);
    if (op === 'PutItem' && body.Item) {
      const kind = kindOf(body.Item);
      const entry = items.get(kind) ?? { kind, writes: 0, maxBytes: 0, totalBytes: 0, hasGsiKey: false };
      const size = itemSize(body.Item);
      entry.writes++;
      entry.totalBytes += size;
      entry.maxBytes = Math.max(entry.maxBytes, size);
      entry.hasGsiKey ||= 'gsi1pk' in body.Item;
      items.set(kind, entry);
      return `PutItem ${kind}`;
    }
    if (op === 'Query') {
      const pk = Object.values(body.ExpressionAttributeValues ?? {}).find(
        (v) => typeof v?.S === 'string' && v.S.includes('#'),
      );
      const kind = pk ? pk.S.split('#')[0] : '?';
      return `Query ${kind}${body.IndexName ? ` index=${body.IndexName}` : ''}${body.ConsistentRead ? ' consistent' : ''}`;
    }
    if (op === 'GetItem' || op === 'DeleteItem' || op === 'UpdateItem') {
      return `${op} ${kindOf(body.Key)}${body.ConsistentRead ? ' consistent' : ''}`;
    }
    if (op === 'BatchWriteItem') {
      const n = Object.values(body.RequestItems ?? {}).reduce((s, list) => s + list.length, 0);
      return `BatchWriteItem x${n}`;
    }
    if (op === 'TransactWriteItems') return `TransactWriteItems x${(body.TransactItems ?? []).length}`;
  } catch {
    // not JSON: keep the bare operation name
  }
  return op;
}

function headerOf(headers, name) {
  if (!headers) return undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return String(v);
  return undefined;
}

function wrapRequest(original) {
  return function benchRequest(...args) {
    const req = original.apply(this, args);
    try {
      observe(req, args);
    } catch {
      // never break the relay because of the bench
    }
    return req;
  };
}

function observe(req, args) {
  const options = typeof args[0] === 'object' && !(args[0] instanceof URL) ? args[0] : (args[1] ?? {});
  const path = req.path ?? options.path ?? '';
  const target = headerOf(options.headers, 'x-amz-target') ?? req.getHeader?.('x-amz-target');
  const rec = als.getStore();
  const bucket = rec?.bucket ?? outside;
  const t0 = now();
  if (rec) {
    // Wall time with at least one call outstanding (parallel calls count once), overall and by kind.
    const kinds = [rec.wait.all, target?.startsWith('DynamoDB_') ? rec.wait.dynamodb : rec.wait.other];
    for (const w of kinds) if (w.pending++ === 0) w.since = t0;
    let done = false;
    const settle = () => {
      if (done) return;
      done = true;
      const t = now();
      for (const w of kinds) if (--w.pending === 0) w.ms += t - w.since;
    };
    req.on('response', (res) => res.on('end', settle));
    req.on('error', settle);
    req.on('close', () => setImmediate(settle));
  }
  if (target?.startsWith('DynamoDB_')) {
    const op = target.split('.')[1] ?? target;
    let described = op;
    const end = req.end;
    req.end = function benchEnd(chunk, ...rest) {
      if (typeof chunk === 'string' || Buffer.isBuffer(chunk))
        described = describeDynamoBody(op, chunk.toString());
      return end.call(this, chunk, ...rest);
    };
    req.on('response', (res) => {
      res.on('end', () => {
        const ms = now() - t0;
        bucket.dynamodbRequests++;
        bucket.dynamodb[described] = (bucket.dynamodb[described] ?? 0) + 1;
        push(bucket.dynamodbMs, ms);
        if (rec) rec.dynamodbMs += ms;
      });
    });
    return;
  }
  if (/\/(@|%40)connections\//i.test(path) && (req.method ?? options.method) === 'POST') {
    req.on('response', (res) => {
      res.on('end', () => {
        const ms = now() - t0;
        bucket.posts++;
        bucket.postStatus[res.statusCode] = (bucket.postStatus[res.statusCode] ?? 0) + 1;
        push(bucket.postMs, ms);
        if (rec) rec.postMs += ms;
      });
    });
    return;
  }
  bucket.otherHttp++;
}

const INSTALLED = Symbol.for('mpc-relay.bench.instrumented');

/** Wraps this thread's http.request / https.request (once per thread). */
export function install() {
  if (globalThis[INSTALLED]) return;
  globalThis[INSTALLED] = true;
  http.request = wrapRequest(http.request);
  https.request = wrapRequest(https.request);
  syncBuiltinESMExports();
}

export function reset() {
  routes = new Map();
  outside = newBucket('(outside any handler)');
  items = new Map();
}

/** Raw counters (samples included) for the parent to summarize. */
export function snapshot() {
  return {
    routes: [...routes.values()],
    outside,
    items: [...items.values()],
  };
}

/** The handlers' own DynamoDB request counter of this thread (under a global symbol). */
function handlersCounter() {
  const counter = globalThis[Symbol.for('mpc-relay.dynamodb.requestCounter')];
  return counter ? { total: counter.total, byCommand: { ...counter.byCommand } } : undefined;
}

// Execution environments (worker threads) of the local gateway each load their own copy of this
// module with their bundle: each counts its own invocations and answers the relay process's main
// thread over a BroadcastChannel.
const CHANNEL = 'mpc-relay-bench-instrument';

if (!isMainThread) {
  install();
  const channel = new BroadcastChannel(CHANNEL);
  channel.unref();
  channel.onmessage = ({ data }) => {
    if (data?.type === 'reset') {
      reset();
      channel.postMessage({ type: 'ack', nonce: data.nonce, counter: handlersCounter() });
    } else if (data?.type === 'snapshot') {
      channel.postMessage({
        type: 'ack',
        nonce: data.nonce,
        snapshot: snapshot(),
        counter: handlersCounter(),
      });
    }
  };
}

let nonce = 0;

/**
 * Asks every environment (there are `expected`; undefined: unknown, every answer within the
 * timeout is taken) and waits for their answers, bounded.
 */
async function ask(type, expected, timeoutMs = 2000) {
  if (expected === 0) return [];
  const channel = new BroadcastChannel(CHANNEL);
  const id = `${process.pid}-${++nonce}`;
  const answers = [];
  try {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      channel.onmessage = ({ data }) => {
        if (data?.type !== 'ack' || data.nonce !== id) return;
        answers.push(data);
        if (expected !== undefined && answers.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      };
      channel.postMessage({ type, nonce: id });
    });
  } finally {
    channel.close();
  }
  return answers;
}

function mergeInto(target, source) {
  for (const [key, value] of Object.entries(source)) {
    if (Array.isArray(value)) target[key] = [...(target[key] ?? []), ...value];
    else if (typeof value === 'number') target[key] = (target[key] ?? 0) + value;
    else if (value && typeof value === 'object') target[key] = mergeInto({ ...(target[key] ?? {}) }, value);
    else target[key] ??= value;
  }
  return target;
}

function mergeCounters(counters) {
  const present = counters.filter(Boolean);
  if (present.length === 0) return undefined;
  return present.reduce((sum, c) => mergeInto(sum, c), { total: 0, byCommand: {} });
}

/**
 * Every thread's counters together: this one's and those of `environments` execution environments
 * (undefined: as many as answer within timeoutMs).
 */
export async function snapshotAll(environments, timeoutMs) {
  const answers = await ask('snapshot', environments, timeoutMs);
  const own = snapshot();
  const routesByKey = new Map();
  for (const bucket of [...own.routes, ...answers.flatMap((a) => a.snapshot.routes)]) {
    const known = routesByKey.get(bucket.key);
    routesByKey.set(bucket.key, known ? mergeInto(known, { ...bucket, key: undefined }) : { ...bucket });
  }
  const itemsByKind = new Map();
  for (const item of [...own.items, ...answers.flatMap((a) => a.snapshot.items)]) {
    const known = itemsByKind.get(item.kind);
    if (!known) itemsByKind.set(item.kind, { ...item });
    else {
      known.writes += item.writes;
      known.totalBytes += item.totalBytes;
      known.maxBytes = Math.max(known.maxBytes, item.maxBytes);
      known.hasGsiKey ||= item.hasGsiKey;
    }
  }
  const outside = answers.reduce((sum, a) => mergeInto(sum, { ...a.snapshot.outside, key: undefined }), {
    ...own.outside,
  });
  return {
    routes: [...routesByKey.values()],
    outside,
    items: [...itemsByKind.values()],
    environmentsAnswered: answers.length,
    handlersCounter: mergeCounters([handlersCounter(), ...answers.map((a) => a.counter)]),
  };
}

/** Resets this thread's counters and every environment's; answers their request counters after it. */
export async function resetAll(environments, timeoutMs) {
  reset();
  const answers = await ask('reset', environments, timeoutMs);
  return mergeCounters([handlersCounter(), ...answers.map((a) => a.counter)]);
}
