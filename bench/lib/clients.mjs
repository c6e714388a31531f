/**
 * Raw `ws` clients speaking protocol v1, and the load patterns of the bench: sequential
 * hops, v1 round trips, pipelined throughput with a bounded window, idle connections.
 * Every loop is bounded in count and in time; every wait has a timeout.
 */
// The v1 frame builders the test suites use, from @mpc-relay/testing's build (`pnpm bench` builds it).
import { connectUrl, fullSig, partialSig } from '../../packages/testing/dist/v1-frames.js';
import { nowMs, sleep, summarize } from './stats.mjs';
import { WebSocket } from './ws.mjs';

/** A connected client with a FIFO of received frames (text). */
export class Peer {
  constructor(socket) {
    this.socket = socket;
    this.queue = [];
    this.waiter = undefined;
    this.received = 0;
    this.onFrame = undefined;
    socket.on('message', (data) => {
      this.received++;
      const text = data.toString();
      if (this.onFrame) {
        this.onFrame(text);
        return;
      }
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(text);
      } else {
        this.queue.push(text);
      }
    });
  }

  send(text) {
    this.socket.send(text);
  }

  /** Next received frame, or an Error after timeoutMs. */
  next(timeoutMs = 5000) {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (text) => {
        clearTimeout(timer);
        resolve(text);
      };
    });
  }

  /** Next frame matching predicate (others are dropped), bounded by timeoutMs overall. */
  async nextMatching(predicate, timeoutMs = 5000) {
    const deadline = nowMs() + timeoutMs;
    for (let i = 0; i < 1000; i++) {
      const left = deadline - nowMs();
      if (left <= 0) break;
      const text = await this.next(left);
      if (predicate(text)) return text;
    }
    throw new Error('no matching frame in time');
  }

  close() {
    this.socket.terminate();
  }
}

export function openSocket(url, { headers = {}, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`connect timeout ${url}`));
    }, timeoutMs);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      socket.terminate();
      reject(new Error(`handshake refused: HTTP ${res.statusCode}`));
    });
  });
}

/** The original demo's frames (its "Real Interaction Example"), with a sequence number to match replies. */
export const v1Frames = {
  partialSig: (mpcId, cliId, seq) => JSON.stringify(partialSig(mpcId, cliId, `tx-${seq}`)),
  fullSig: (cliId, seq) => JSON.stringify(fullSig(cliId, `tx-${seq}`)),
};

const SEQ = /"transactionId":"tx-(\d+)"/;
export function seqOf(text) {
  const m = SEQ.exec(text);
  return m ? Number(m[1]) : -1;
}

/**
 * The frame of message `seq`, bounded by timeoutMs. A late frame of an earlier message (counted
 * lost when its wait timed out) is skipped, so it is never taken for this one's.
 */
async function nextOfSeq(peer, seq, timeoutMs) {
  return peer
    .nextMatching((text) => seqOf(text) >= seq, timeoutMs)
    .then((text) => {
      if (seqOf(text) !== seq) throw new Error(`frame ${seqOf(text)} instead of ${seq}`);
      return text;
    });
}

/**
 * A target: how to reach a server. `connect(role, id, pair)` opens a Peer and performs whatever
 * the protocol needs before messages flow (for the relay: getConnectionId, as the original demo client does).
 */
export function relayTarget(url, { authorization = 'Allow' } = {}) {
  return {
    name: 'relay',
    url: (role, id) => connectUrl(url, { type: role, id }),
    headers: { Authorization: authorization },
    async connect(role, id) {
      const socket = await openSocket(this.url(role, id), { headers: this.headers });
      const peer = new Peer(socket);
      peer.send(JSON.stringify({ action: 'getConnectionId' }));
      await peer.nextMatching((text) => text.includes('"connectionId"'), 10_000);
      return peer;
    },
  };
}

export function baselineTarget(url) {
  return {
    name: 'baseline',
    url: (role, id, pair) => `${connectUrl(url, { type: role, id })}&pair=${pair}`,
    headers: {},
    async connect(role, id, pair) {
      return new Peer(await openSocket(this.url(role, id, pair)));
    },
  };
}

/** Connect one mpc/cli pair (cli first, as in the original demo's example). */
export async function connectPair(target, index, tag) {
  const cliId = `bench-${tag}-cli-${index}`;
  const mpcId = `bench-${tag}-mpc-${index}`;
  const cli = await target.connect('cli', cliId, `${tag}-${index}`);
  const mpc = await target.connect('mpc', mpcId, `${tag}-${index}`);
  return { cli, mpc, cliId, mpcId };
}

/**
 * Sequential one-way hops: the mpc sends a PartialSig, the cli receives it. One in flight.
 * Returns the latency distribution (ms) and the frames received by the cli (the first one, to
 * check the shape).
 */
export async function measureHops(
  pair,
  { warmup = 50, count = 1000, budgetMs = 20_000, timeoutMs = 5000 } = {},
) {
  const samples = [];
  let lost = 0;
  let sample;
  const deadline = nowMs() + budgetMs;
  let sent = 0;
  for (let i = 0; i < warmup + count && nowMs() < deadline; i++) {
    const t0 = nowMs();
    pair.mpc.send(v1Frames.partialSig(pair.mpcId, pair.cliId, i));
    sent++;
    try {
      const text = await nextOfSeq(pair.cli, i, timeoutMs);
      const t1 = nowMs();
      sample ??= text;
      if (i >= warmup) samples.push(t1 - t0);
    } catch {
      lost++;
    }
  }
  return { latencyMs: summarize(samples), lost, sent, sampleDelivery: sample, samples };
}

/**
 * Sequential v1 round trips: mpc sends PartialSig, the cli answers FullSig on receipt (as the
 * original demo's Go client does), the mpc receives it.
 */
export async function measureRoundTrips(
  pair,
  { warmup = 20, count = 500, budgetMs = 20_000, timeoutMs = 5000 } = {},
) {
  const samples = [];
  let lost = 0;
  let sample;
  pair.cli.onFrame = (text) => {
    const seq = seqOf(text);
    if (seq >= 0) pair.cli.send(v1Frames.fullSig(pair.cliId, seq));
  };
  const deadline = nowMs() + budgetMs;
  let sent = 0;
  try {
    for (let i = 0; i < warmup + count && nowMs() < deadline; i++) {
      const t0 = nowMs();
      pair.mpc.send(v1Frames.partialSig(pair.mpcId, pair.cliId, i));
      sent++;
      try {
        const text = await nextOfSeq(pair.mpc, i, timeoutMs);
        const t1 = nowMs();
        sample ??= text;
        if (i >= warmup) samples.push(t1 - t0);
      } catch {
        lost++;
      }
    }
  } finally {
    pair.cli.onFrame = undefined;
  }
  return { latencyMs: summarize(samples), lost, sent, sampleDelivery: sample, samples };
}

/**
 * Pipelined throughput: every pair's mpc keeps up to `window` messages in flight to its cli and
 * sends the next one as soon as one is accounted for (received by the cli, or refused: a v1 sender
 * hears nothing on success, so any frame it gets is an error frame, the relay's or the gateway's
 * "Internal server error"). Sends stop after durationMs (or maxMessages); then the run drains: it
 * waits while frames keep coming, until every frame sent is received or refused, or nothing came
 * for `quietMs`, or `drainMs` passed. A server still working off a backlog at a slow rate is
 * waited for (its frames are late, not lost); lost = sent - received - refused at the end.
 * Sequence numbers start at `seqBase`: a frame of an earlier run that arrives late (a server
 * still working off its backlog) has a lower one and is counted as `stale`, never as received.
 */
export async function measureThroughput(
  pairs,
  {
    window = 8,
    durationMs = 4000,
    maxMessages = 200_000,
    drainMs = 60_000,
    quietMs = 10_000,
    seqBase = 0,
  } = {},
) {
  let sent = 0;
  let received = 0;
  let refused = 0;
  let stale = 0;
  let senderSample;
  let outOfOrder = 0;
  let stopped = false;
  let stoppedAt;
  const hopSamples = [];
  const start = nowMs();
  let lastReceive = start;
  let lastFrame = start;
  const sendAt = new Map();
  await new Promise((resolve) => {
    let finished = false;
    let drainCheck;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(stopTimer);
      clearInterval(drainCheck);
      resolve();
    };
    const accountedFor = () => received + refused >= sent;
    const stopTimer = setTimeout(() => {
      stopped = true;
      stoppedAt = nowMs();
      if (accountedFor()) {
        finish();
        return;
      }
      drainCheck = setInterval(
        () => {
          const now = nowMs();
          if (now - lastFrame >= quietMs || now - stoppedAt >= drainMs) finish();
        },
        Math.min(250, quietMs),
      );
    }, durationMs);
    for (const [p, pair] of pairs.entries()) {
      let nextSeq = seqBase;
      let expected = seqBase;
      const sendOne = () => {
        const seq = nextSeq++;
        sent++;
        sendAt.set(`${p}:${seq}`, nowMs());
        pair.mpc.send(v1Frames.partialSig(pair.mpcId, pair.cliId, seq));
      };
      // One frame in flight is done (received or refused): the next one, or the end of the run.
      const settled = () => {
        lastFrame = nowMs();
        if (!stopped && sent < maxMessages) sendOne();
        else if (stopped && accountedFor()) finish();
      };
      pair.mpc.onFrame = (text) => {
        refused++;
        senderSample ??= text.slice(0, 300);
        settled();
      };
      pair.cli.onFrame = (text) => {
        const seq = seqOf(text);
        if (seq < 0) return;
        if (seq < seqBase) {
          // The server is still working off an earlier run: progress all the same.
          stale++;
          lastFrame = nowMs();
          return;
        }
        received++;
        lastReceive = nowMs();
        const t0 = sendAt.get(`${p}:${seq}`);
        if (t0 !== undefined) {
          sendAt.delete(`${p}:${seq}`);
          if (hopSamples.length < 200_000) hopSamples.push(lastReceive - t0);
        }
        if (seq !== expected) outOfOrder++;
        expected = seq + 1;
        settled();
      };
      for (let i = 0; i < window; i++) sendOne();
    }
  });
  const end = nowMs();
  const elapsedMs = lastReceive - start;
  for (const pair of pairs) {
    pair.cli.onFrame = undefined;
    pair.mpc.onFrame = undefined;
  }
  return {
    pairs: pairs.length,
    window,
    inFlight: pairs.length * window,
    sent,
    received,
    refused,
    lost: sent - received - refused,
    stale,
    senderSample,
    outOfOrder,
    elapsedMs: Math.round(elapsedMs),
    // From the end of sending to the end of the run: how long the last frames in flight took.
    drainMs: Math.round(end - (stoppedAt ?? end)),
    messagesPerSecond: received > 0 && elapsedMs > 0 ? Math.round((received / elapsedMs) * 1000) : 0,
    hopLatencyMs: summarize(hopSamples),
  };
}

/**
 * Opens idle connections up to each of `levels` (e.g. 1000, 5000, 10000), `concurrency` handshakes
 * in flight, and calls `atLevel(n)` at each level (to read the server's memory). Returns the
 * sockets (to close) and the accept rate.
 */
export async function openIdleConnections(target, { levels, concurrency = 64, budgetMs = 90_000, onLevel }) {
  const sockets = [];
  const results = [];
  let failures = 0;
  let firstError;
  let next = 0;
  const start = nowMs();
  const deadline = start + budgetMs;
  const openUpTo = async (goal) => {
    while (next < goal && nowMs() < deadline && failures < 100) {
      const i = next++;
      try {
        sockets.push(
          await openSocket(target.url('cli', `idle-${i}`, `idle-${i}`), { headers: target.headers }),
        );
      } catch (error) {
        failures++;
        firstError ??= String(error?.message ?? error);
      }
    }
  };
  for (const level of [...levels].sort((a, b) => a - b)) {
    const t0 = nowMs();
    const before = sockets.length;
    await Promise.all(Array.from({ length: concurrency }, () => openUpTo(level)));
    const t1 = nowMs();
    const entry = {
      level,
      held: sockets.length,
      acceptedPerSecond: Math.round(((sockets.length - before) / (t1 - t0)) * 1000),
    };
    if (sockets.length < level) {
      entry.incomplete = true;
      results.push(entry);
      break;
    }
    if (onLevel) Object.assign(entry, await onLevel(level));
    results.push(entry);
  }
  return { sockets, levels: results, failures, firstError, totalMs: Math.round(nowMs() - start) };
}

export async function closeAll(sockets, budgetMs = 10_000) {
  for (const s of sockets) s.terminate();
  const deadline = nowMs() + budgetMs;
  while (sockets.some((s) => s.readyState !== WebSocket.CLOSED) && nowMs() < deadline) await sleep(50);
}

/**
 * Sequential connects: WebSocket handshake to `open` (the relay runs the authorizer and $connect
 * before it answers the upgrade), each closed before the next. Bounded in count and time.
 */
export async function measureConnects(target, { count = 50, tag = 'conn', budgetMs = 30_000 } = {}) {
  const samples = [];
  let failures = 0;
  const deadline = nowMs() + budgetMs;
  for (let i = 0; i < count && nowMs() < deadline; i++) {
    const role = i % 2 === 0 ? 'cli' : 'mpc';
    const t0 = nowMs();
    try {
      const socket = await openSocket(target.url(role, `bench-${tag}-${i}`, `${tag}-${i}`), {
        headers: target.headers,
      });
      samples.push(nowMs() - t0);
      socket.terminate();
    } catch {
      failures++;
    }
  }
  return { samples, failures };
}
