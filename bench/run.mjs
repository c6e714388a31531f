#!/usr/bin/env node
/**
 * `pnpm bench`: what the relay costs, measured. Loopback only, every loop bounded in count and
 * time; 10 to 25 minutes on a 2-core machine (30 min watchdog). Writes bench/results.json and
 * BENCHMARKS.md and prints a table. Options: --quick (tiny counts, for the smoke test), --no-write (print only),
 * --skip=coldstart,scale,throughput,sigv4,peers,soak (comma list of sections to leave out; peers:
 * serverless-offline, installed on first use into bench/.peers).
 *
 * Phases: the side-by-side (bare forwarder, relay, in-process relay, serverless-offline, all with
 * the shipped bundles as they are: latency, connects, throughput, interleaved); then the breakdown
 * (an instrumented relay and an instrumented serverless-offline: exact counts, where the time goes);
 * then the relay's CPU profile (plain) and idle-connection run (instrumented), and the rest.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startChild } from './lib/child.mjs';
import {
  baselineTarget,
  closeAll,
  connectPair,
  measureConnects,
  measureHops,
  measureRoundTrips,
  measureThroughput,
  openIdleConnections,
  relayTarget,
} from './lib/clients.mjs';
import { measureColdStarts, snapshotBundles } from './lib/coldstart.mjs';
import { connectionCost, costPerMillion, PRICES } from './lib/cost.mjs';
import { ensurePeerInstalled, peerInstalled } from './lib/peers/serverless-offline.mjs';
import { buildProfiledBundles } from './lib/profiled-bundles.mjs';
import { comparison, renderMarkdown, renderTerminal } from './lib/report.mjs';
import { measureSigV4 } from './lib/sigv4-cost.mjs';
import { measureSoak } from './lib/soak.mjs';
import { nowMs, ratio, round, sleep, summarize } from './lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const write = !args.includes('--no-write');
const skip = new Set(
  (args.find((a) => a.startsWith('--skip='))?.slice('--skip='.length) ?? '').split(',').filter(Boolean),
);
const outDir = args.find((a) => a.startsWith('--out='))?.slice('--out='.length);

const PLAN = quick
  ? {
      hops: 40,
      hopWarmup: 10,
      roundTrips: 20,
      rtWarmup: 5,
      stages: [{ pairs: 2, window: 2 }],
      stageMs: 500,
      profileMs: 300,
      warmUpBudgetMs: 10_000,
      idleLevels: [50],
      coldRuns: 2,
    }
  : {
      hops: 1000,
      hopWarmup: 100,
      roundTrips: 500,
      rtWarmup: 50,
      stages: [
        { pairs: 1, window: 4 },
        { pairs: 4, window: 4 },
        { pairs: 8, window: 8 },
        { pairs: 16, window: 16 },
      ],
      stageMs: 4000,
      profileMs: 3000,
      warmUpBudgetMs: 30_000,
      idleLevels: [1000, 5000, 10000],
      coldRuns: 15,
    };

const log = (line) => process.stderr.write(`${line}\n`);
const PEER_NAME = 'serverless-offline';
/** A server's name as it can appear in a peer id. */
const slug = (name) => name.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, '');

function machine() {
  const cpus = os.cpus();
  let fdLimit;
  try {
    fdLimit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    fdLimit = undefined;
  }
  return {
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    totalMemoryGb: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    fileDescriptorLimit: fdLimit,
  };
}

function cpuPercent(before, after) {
  const us = after.user + after.system - before.user - before.system;
  return round((us / 1000 / (after.wallMs - before.wallMs)) * 100, 1);
}

function selfCpu() {
  const c = process.cpuUsage();
  return { user: c.user, system: c.system, wallMs: nowMs() };
}

/**
 * Latency of every server, interleaved: blocks of hops (then of round trips) alternate between the
 * servers, so a change in the machine's other load hits them alike and the ratio holds.
 */
async function interleavedLatency(entries, { beforeHops, afterHops, afterRoundTrips } = {}) {
  const blocks = quick ? 2 : 5;
  const state = [];
  const out = {};
  for (const e of entries) {
    let pair;
    try {
      pair = await connectPair(e.target, 0, slug(e.name));
    } catch (error) {
      // That server's latency is missing (with the reason), not every server's.
      out[e.name] = { error: `could not connect a pair: ${String(error?.message ?? error).slice(0, 300)}` };
      log(`  ${e.name}: ${out[e.name].error}`);
      continue;
    }
    state.push({
      ...e,
      pair,
      hop: [],
      rt: [],
      lostHop: 0,
      lostRt: 0,
      hopsSent: 0,
      roundTripsSent: 0,
      before: { cli: pair.cli.received, mpc: pair.mpc.received },
    });
  }
  // Warm-up hops first (JIT, connections to the store), then the counters start: neither the pairs'
  // connects nor the warm-up are part of the messages counted and timed.
  for (const s of state) {
    const r = await measureHops(s.pair, { warmup: PLAN.hopWarmup, count: 0, budgetMs: 10_000 });
    s.lostHop += r.lost;
    s.before = { cli: s.pair.cli.received, mpc: s.pair.mpc.received };
  }
  if (beforeHops) await beforeHops(state);
  // Each block is bounded in time (10 s): on a loaded machine a slow server sends fewer (n says so)
  // rather than pushing the whole run past its time limit.
  for (let b = 0; b < blocks; b++) {
    for (const s of state) {
      const r = await measureHops(s.pair, {
        warmup: 0,
        count: Math.ceil(PLAN.hops / blocks),
        budgetMs: 10_000,
      });
      s.hop.push(...r.samples);
      s.lostHop += r.lost;
      s.hopsSent += r.sent;
      s.sampleHop ??= r.sampleDelivery;
    }
  }
  for (const s of state) {
    s.framesDuringHops = {
      toReceiver: s.pair.cli.received - s.before.cli,
      toSender: s.pair.mpc.received - s.before.mpc,
    };
  }
  const hopCounters = afterHops ? await afterHops(state) : undefined;
  for (let b = 0; b < blocks; b++) {
    for (const s of state) {
      const r = await measureRoundTrips(s.pair, {
        warmup: b === 0 ? PLAN.rtWarmup : 0,
        count: Math.ceil(PLAN.roundTrips / blocks),
        budgetMs: 10_000,
      });
      s.rt.push(...r.samples);
      s.lostRt += r.lost;
      s.roundTripsSent += r.sent;
      s.sampleRt ??= r.sampleDelivery;
    }
  }
  // Read before the pairs close: their $disconnect is not part of the messages counted.
  const counters = afterRoundTrips ? await afterRoundTrips(state) : undefined;
  if (counters) out.counters = counters;
  for (const s of state) {
    s.pair.cli.close();
    s.pair.mpc.close();
    out[s.name] = {
      hop: { latencyMs: summarize(s.hop), lost: s.lostHop, sampleDelivery: s.sampleHop },
      roundTrip: { latencyMs: summarize(s.rt), lost: s.lostRt, sampleDelivery: s.sampleRt },
      framesDuringHops: s.framesDuringHops,
      // As sent: a block's time budget can cut it short on a loaded machine.
      hopsSent: s.hopsSent,
      roundTripsSent: s.roundTripsSent,
      blocks,
      ...(hopCounters?.[s.name] ? { hopCounters: hopCounters[s.name] } : {}),
    };
  }
  return out;
}

/** The counters of every server that keeps them (relay, peer), by name; a failed read is left out. */
async function countersOf(state) {
  await sleep(300); // the last invocation's post may still be in flight
  const out = {};
  for (const s of state) {
    if (s.kind === 'baseline') continue;
    try {
      out[s.name] = await s.child.call('counters', {}, 20_000);
    } catch (error) {
      log(`  ${s.name}: counters not read (${String(error?.message ?? error).slice(0, 200)})`);
    }
  }
  return out;
}

async function resetCounters(state) {
  await sleep(300); // the last warm-up invocation may still be finishing (its post, its route event)
  for (const s of state) if (s.kind !== 'baseline') await s.child.call('reset', {}, 20_000);
}

/** How long a server under test may take to answer one IPC request during the throughput stages. */
const STAGE_CALL_MS = 20_000;

/**
 * After a stage's sends stop, the frames still in flight are waited for while they keep coming
 * (at most DRAIN_MS; DRAIN_QUIET_MS without any frame ends it): on a loaded machine a server can
 * take longer than a fixed window to work off its in-flight frames (256 at 16 x 16, at 11 msg/s
 * 23 s), and a frame delivered late is not a lost one.
 */
const DRAIN_MS = 60_000;
const DRAIN_QUIET_MS = 10_000;

/** A fresh sequence space per run on a server: a late frame of an earlier run is never counted. */
const nextSeqBase = (server) => {
  server.runs = (server.runs ?? 0) + 1;
  return server.runs * 1_000_000;
};

/**
 * One throughput stage on one server (`relay` servers also report their hot route's times). First
 * a warm-up round (one window per pair, every frame awaited, bounded): a server that starts an
 * execution environment per concurrent invocation starts them there, not in the measured run; one
 * that cannot deliver that round in time fails the stage with what it delivered.
 */
async function throughputStage(server, stage) {
  const { child, pairs, kind, name } = server;
  const used = pairs.slice(0, stage.pairs);
  const inFlight = stage.pairs * stage.window;
  const warm = await measureThroughput(used, {
    window: stage.window,
    durationMs: 1,
    maxMessages: inFlight,
    drainMs: PLAN.warmUpBudgetMs,
    quietMs: PLAN.warmUpBudgetMs,
    seqBase: nextSeqBase(server),
  });
  const warmProcess = await child.call('process', {}, STAGE_CALL_MS);
  const warmUp = {
    ms: warm.elapsedMs,
    delivered: warm.received,
    of: warm.sent,
    serverThreads: warmProcess.threads,
    serverRssMb: round(warmProcess.rss / 1024 ** 2, 1),
  };
  if (warm.received < warm.sent) {
    const error = new Error(
      `warm-up: ${warm.received} of ${warm.sent} frames delivered within ${PLAN.warmUpBudgetMs / 1000} s, ${warm.refused} error frames to the senders${warm.senderSample ? ` (${warm.senderSample.slice(0, 120)})` : ''} (server: ${warmUp.serverThreads ?? '?'} threads, ${warmUp.serverRssMb} MB RSS)`,
    );
    error.warmUp = warmUp;
    throw error;
  }
  if (kind === 'relay') await child.call('reset', {}, STAGE_CALL_MS);
  await child.call('eventLoop', {}, STAGE_CALL_MS);
  const cpu0 = await child.call('cpu', {}, STAGE_CALL_MS);
  const self0 = selfCpu();
  const result = await measureThroughput(used, {
    window: stage.window,
    durationMs: PLAN.stageMs,
    drainMs: DRAIN_MS,
    quietMs: DRAIN_QUIET_MS,
    seqBase: nextSeqBase(server),
  });
  const cpu1 = await child.call('cpu', {}, STAGE_CALL_MS);
  const self1 = selfCpu();
  result.warmUp = warmUp;
  result.serverCpuPercent = cpuPercent(cpu0, cpu1);
  result.clientCpuPercent = cpuPercent(self0, self1);
  // CPU time the server spent per delivered message: robust to other load on the machine.
  result.serverCpuMsPerMessage =
    result.messagesPerSecond > 0
      ? round((result.serverCpuPercent * 10) / result.messagesPerSecond, 3)
      : undefined;
  const proc = await child.call('process', {}, STAGE_CALL_MS);
  result.serverThreads = proc.threads;
  result.serverRssMb = round(proc.rss / 1024 ** 2, 1);
  const loop = await child.call('eventLoop', {}, STAGE_CALL_MS);
  result.serverEventLoopDelayMs = {
    median: round(loop.median - 10, 2),
    p99: round(loop.p99 - 10, 2),
    max: round(loop.max - 10, 2),
  };
  if (kind === 'relay') {
    const c = await child.call('counters', {}, STAGE_CALL_MS);
    // Where a message waits under load (an instrumented relay only): the hot route's times.
    const hot = c.routes?.find((b) => b.key === 'sendServer (mpc -> cli)');
    if (hot) {
      const h = summarizeBucket(hot);
      result.hotRoute = {
        handlerMedianMs: h.handlerMs.median,
        handlerP99Ms: h.handlerMs.p99,
        dynamodbCallMedianMs: h.dynamodbCallMs.median,
        postMedianMs: h.postMs.median,
        ownCodeMedianMs: h.ownCodeMs.median,
      };
    }
    result.environments = c.environments;
  }
  log(
    `  ${name} throughput ${stage.pairs}x${stage.window}: ${result.messagesPerSecond} msg/s, lost ${result.lost}, refused ${result.refused} (error frames to the senders), drain ${result.drainMs} ms, server CPU ${result.serverCpuPercent}%, ${result.serverThreads ?? '?'} threads (warm-up ${warmUp.ms} ms)`,
  );
  return result;
}

/**
 * After a stage that failed, lost or refused frames: wait (bounded) until the server has worked off its
 * backlog, so it does not load the machine while the next server is measured. A server that
 * stays busy or stops answering is stopped, except the relay (later sections read it).
 */
async function settle(server) {
  const deadline = nowMs() + (quick ? 5000 : 30_000);
  while (nowMs() < deadline) {
    try {
      const a = await server.child.call('cpu', {}, 5000);
      await sleep(1000);
      const b = await server.child.call('cpu', {}, 5000);
      if (cpuPercent(a, b) < 15) return 'idle';
    } catch {
      break;
    }
  }
  if (server.name === 'relay') return 'still busy';
  await server.child.stop(5000);
  return 'stopped (still busy or not answering)';
}

/**
 * Throughput of every server, interleaved: each stage runs on every server in turn before the next
 * stage, so the machine's other load hits them alike. A server that fails a stage or loses frames
 * in it is not loaded harder: its later stages are recorded as skipped, with the reason.
 */
async function interleavedThroughput(servers) {
  const maxPairs = Math.max(...PLAN.stages.map((s) => s.pairs));
  const out = Object.fromEntries(servers.map((s) => [s.name, []]));
  for (const server of servers) {
    server.pairs = [];
    try {
      for (let i = 0; i < maxPairs; i++)
        server.pairs.push(await connectPair(server.target, i, `${slug(server.name)}-tp`));
    } catch (error) {
      server.stopReason = `could not connect ${maxPairs} pairs: ${String(error?.message ?? error).slice(0, 200)}`;
      log(`  ${server.name} throughput: ${server.stopReason}`);
    }
  }
  for (const stage of PLAN.stages) {
    for (const server of servers) {
      const at = { pairs: stage.pairs, window: stage.window, inFlight: stage.pairs * stage.window };
      if (server.stopReason) {
        out[server.name].push({ ...at, skipped: server.stopReason });
        continue;
      }
      let result;
      try {
        result = await throughputStage(server, stage);
        out[server.name].push(result);
      } catch (error) {
        const reason = String(error?.message ?? error).slice(0, 300);
        out[server.name].push({ ...at, error: reason, warmUp: error?.warmUp });
        server.stopReason = `${stage.pairs} x ${stage.window} failed`;
        log(`  ${server.name} throughput ${stage.pairs}x${stage.window}: failed (${reason})`);
      }
      if (result?.lost > 0)
        server.stopReason = `lost ${result.lost} frames at ${stage.pairs} x ${stage.window}`;
      else if (result?.refused > 0)
        server.stopReason = `refused ${result.refused} frames at ${stage.pairs} x ${stage.window}`;
      if (server.stopReason) {
        const state = await settle(server);
        out[server.name].at(-1).afterwards = state;
        log(`  ${server.name}: no further stages (${server.stopReason}); server ${state}`);
      }
      await sleep(200);
    }
  }
  for (const server of servers) {
    for (const p of server.pairs) {
      p.cli.close();
      p.mpc.close();
    }
  }
  return out;
}

/**
 * Connect time: sequential WebSocket handshakes (the relay runs the authorizer and $connect for
 * each), interleaved in blocks across the servers; each connection is closed before the next.
 */
async function interleavedConnects(entries) {
  const blocks = quick ? 2 : 5;
  const per = Math.ceil((quick ? 10 : 100) / blocks);
  const samples = Object.fromEntries(entries.map((e) => [e.name, { ms: [], failures: 0 }]));
  for (let b = 0; b < blocks; b++) {
    for (const e of entries) {
      const r = await measureConnects(e.target, {
        count: per,
        tag: `${slug(e.name)}-${b}`,
        budgetMs: 30_000,
      });
      samples[e.name].ms.push(...r.samples);
      samples[e.name].failures += r.failures;
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, s]) => [name, { latencyMs: summarize(s.ms), failures: s.failures }]),
  );
}

function bestZeroLoss(stages) {
  return stages
    .filter((s) => s.lost === 0 && !s.refused && s.messagesPerSecond > 0)
    .sort((a, b) => b.messagesPerSecond - a.messagesPerSecond)[0];
}

function saturation(stages, profile) {
  const best = bestZeroLoss(stages);
  if (!best) return { resource: 'unknown: every stage lost or refused messages' };
  const cores = os.cpus().length;
  let resource;
  if (best.serverCpuPercent >= 85) {
    resource = `CPU: the relay process near one core (${best.serverCpuPercent}%), its store process and the load generator on the rest of the machine's ${cores} cores`;
    const ddb = profile?.categories?.find((c) => c.category.startsWith('dynalite'));
    if (ddb) resource += `; dynalite, in that same process, takes ${ddb.share}% of its CPU samples`;
  } else if (best.clientCpuPercent >= 85) {
    resource = 'CPU of the load generator (the bench process)';
  } else if (best.serverCpuPercent + best.clientCpuPercent >= cores * 100 * 0.85) {
    resource = `the machine's ${cores} cores (server + load generator)`;
  } else if (stages.some((s) => s.inFlight > best.inFlight && s.messagesPerSecond !== undefined)) {
    resource = `not its own CPU (${best.serverCpuPercent}% of a core at the best stage): with more in flight the rate fell, the messages waited elsewhere (the machine's other load, the store process)`;
  } else {
    resource = 'not CPU-bound at the tested windows (latency-bound: a larger window would go higher)';
  }
  const sorted = stages
    .filter((s) => s.messagesPerSecond !== undefined)
    .sort((a, b) => a.inFlight - b.inFlight);
  const growth = sorted.map((s, i) =>
    i === 0 ? null : ratio(s.messagesPerSecond, sorted[i - 1].messagesPerSecond),
  );
  const cpuMs = best.serverCpuMsPerMessage;
  return {
    serverCpuMsPerMessage: cpuMs,
    messagesPerCoreSecond: cpuMs ? Math.round(1000 / cpuMs) : undefined,
    bestZeroLossMessagesPerSecond: best.messagesPerSecond,
    atInFlight: best.inFlight,
    serverCpuPercent: best.serverCpuPercent,
    clientCpuPercent: best.clientCpuPercent,
    growthPerStage: growth,
    resource,
  };
}

function summarizeBucket(bucket, messages) {
  const perInvocation = (x) => (bucket.invocations > 0 ? round(x / bucket.invocations, 3) : null);
  const ops = {};
  for (const [op, n] of Object.entries(bucket.dynamodb)) ops[op] = perInvocation(n);
  return {
    route: bucket.key,
    invocations: bucket.invocations,
    invocationsPerMessage: messages ? round(bucket.invocations / messages, 3) : undefined,
    errors: bucket.errors,
    dynamodbRequestsPerInvocation: perInvocation(bucket.dynamodbRequests),
    dynamodbOperationsPerInvocation: ops,
    postsPerInvocation: perInvocation(bucket.posts),
    postStatus: bucket.postStatus,
    handlerMs: summarize(bucket.handlerMs),
    dynamodbCallMs: summarize(bucket.dynamodbMs),
    dynamodbMsPerInvocation: summarize(bucket.dynamodbMsPerInvocation),
    dynamodbWallMsPerInvocation: summarize(bucket.dynamodbWallMs),
    postMs: summarize(bucket.postMs),
    postWallMsPerInvocation: summarize(bucket.otherWallMs ?? []),
    handlerWithoutPostMs: summarize(bucket.handlerWithoutOtherMs ?? []),
    ownCodeMs: summarize(bucket.ownMs),
  };
}

let snapshot;

function relayOptions() {
  // The bundles as they were when the run started (see snapshotBundles).
  const options =
    snapshot?.sha256 && Object.keys(snapshot.sha256).length > 0 ? { handlersDir: snapshot.dir } : {};
  if (process.env.BENCH_RELAY_OPTIONS) Object.assign(options, JSON.parse(process.env.BENCH_RELAY_OPTIONS));
  return options;
}

/**
 * A relay in its child process. Plain (the default): the shipped bundles as they are, as
 * serverless-offline gets them. Instrumented: behind the bench's wrapper modules and wrapped
 * http.request (bench/lib/instrument.mjs), for exact per-route counts and where the time goes.
 */
async function startRelayChild(extra = {}, { instrumented = false } = {}) {
  return startChild(join(here, 'lib', 'relay-server.mjs'), {
    env: {
      BENCH_RELAY_OPTIONS: JSON.stringify({ ...relayOptions(), ...extra }),
      BENCH_INSTRUMENTED: instrumented ? '1' : '0',
      LOG_LEVEL: 'ERROR',
    },
    readyTimeoutMs: 60_000,
  });
}
const startInstrumentedRelayChild = () => startRelayChild({}, { instrumented: true });

async function scaleSection(startServer, target, name) {
  const server = await startServer();
  try {
    const t = target(server.ready.url);
    // Warm up first (handler bundles loaded, JIT warm), so the baseline memory is the server's
    // with no connection, not the server before its first connection.
    const warm = await openIdleConnections(t, { levels: [20], concurrency: 4, budgetMs: 10_000 });
    await closeAll(warm.sockets, 5000);
    await sleep(quick ? 200 : 1000);
    if (name === 'relay') await server.call('reset');
    const base = await server.call('memory');
    const fd = machine().fileDescriptorLimit ?? 1024;
    const levels = PLAN.idleLevels.filter((n) => n <= fd - 500);
    const limitedBy =
      levels.length < PLAN.idleLevels.length ? `file descriptor limit ${fd} (ulimit -n)` : undefined;
    const idle = await openIdleConnections(t, {
      levels,
      concurrency: 64,
      budgetMs: quick ? 20_000 : 120_000,
      onLevel: async (level) => {
        await sleep(quick ? 50 : 500);
        const mem = await server.call('memory');
        return {
          rssMb: round(mem.rss / 1024 ** 2, 1),
          heapUsedMb: round(mem.heapUsed / 1024 ** 2, 1),
          rssKbPerConnection: round((mem.rss - base.rss) / 1024 / level, 1),
          heapKbPerConnection: round((mem.heapUsed - base.heapUsed) / 1024 / level, 1),
          rssMbPer1k: round(((mem.rss - base.rss) / 1024 ** 2 / level) * 1000, 1),
        };
      },
    });
    const counters = name === 'relay' ? await server.call('counters') : undefined;
    await closeAll(idle.sockets, 15_000);
    let disconnects;
    if (counters) {
      const deadline = nowMs() + (quick ? 5000 : 30_000);
      let after = await server.call('counters');
      const held = idle.sockets.length;
      // Completed invocations (a sample is pushed when the handler returns).
      const count = (c) => c.routes.find((r) => r.key === '$disconnect')?.handlerMs.length ?? 0;
      while (count(after) < held && nowMs() < deadline) {
        await sleep(250);
        after = await server.call('counters');
      }
      disconnects = after.routes.find((r) => r.key === '$disconnect');
    }
    log(`  ${name} scale: ${idle.levels.map((l) => `${l.held} conns ${l.rssMb} MB RSS`).join(', ')}`);
    return {
      baseline: { rssMb: round(base.rss / 1024 ** 2, 1), heapUsedMb: round(base.heapUsed / 1024 ** 2, 1) },
      levels: idle.levels,
      handshakeConcurrency: 64,
      failures: idle.failures,
      firstError: idle.firstError,
      limitedBy,
      connectRoutes: counters?.routes
        .filter((r) => r.key === '$connect' || r.key.startsWith('authorizer'))
        .map((b) => summarizeBucket(b)),
      disconnectRoute: disconnects ? summarizeBucket(disconnects) : undefined,
      items: counters?.items,
    };
  } finally {
    await server.stop();
  }
}

/**
 * CPU profile of a fresh relay at the best throughput stage. Its handlers are the shipped bundles
 * rebuilt with a source map (byte-identical, checked), so samples are attributed to packages.
 */
async function profileSection(best) {
  log('relay: CPU profile');
  let bundles;
  try {
    bundles = await buildProfiledBundles();
  } catch (error) {
    bundles = { identical: false, mismatches: [String(error?.message ?? error)] };
  }
  // In-process: the profiler samples this thread only, so the handlers run in it (same code, same
  // work per message as in the execution environments).
  const relay = await startRelayChild({
    execution: 'in-process',
    ...(bundles.identical ? { handlersDir: bundles.dir } : {}),
  });
  try {
    const target = relayTarget(relay.ready.url);
    const pairs = [];
    for (let i = 0; i < best.pairs; i++) pairs.push(await connectPair(target, i, 'prof'));
    const runs = {};
    await measureThroughput(pairs, { window: best.window, durationMs: 1000, seqBase: nextSeqBase(runs) }); // warm-up
    await relay.call('profileStart', { intervalUs: 500 });
    const profiled = await measureThroughput(pairs, {
      window: best.window,
      durationMs: PLAN.profileMs,
      seqBase: nextSeqBase(runs),
    });
    const profile = await relay.call('profileStop');
    for (const p of pairs) {
      p.cli.close();
      p.mpc.close();
    }
    profile.stage = {
      pairs: best.pairs,
      window: best.window,
      messagesPerSecond: profiled.messagesPerSecond,
      lost: profiled.lost,
      refused: profiled.refused,
    };
    profile.bundlesSourceMapped = bundles.identical;
    profile.execution = 'in-process';
    profile.bundles = 'plain';
    if (!bundles.identical) profile.sourceMapSkippedBecause = bundles.mismatches;
    return profile;
  } finally {
    await relay.stop();
  }
}

function relayAvailable() {
  const relayDist = process.env.BENCH_RELAY_MODULE ?? join(root, 'apps', 'relay', 'dist', 'index.js');
  return existsSync(relayDist);
}

/**
 * What the plain relay's own outside counters say per relayed message (the gateway's route and
 * management events, the store process's request counter): the same work per message as the
 * instrumented relay's exact counts, seen without touching the handlers.
 */
function plainCounts(counters, relayed) {
  if (!counters) return undefined;
  const per = (n) => (typeof n === 'number' && relayed > 0 ? round(n / relayed, 3) : undefined);
  const routes = counters.gateway?.routes ?? {};
  const sendServer = Object.entries(routes)
    .filter(([k]) => k.startsWith('sendServer '))
    .reduce((sum, [, n]) => sum + n, 0);
  const posts = Object.entries(counters.gateway?.management ?? {})
    .filter(([k]) => k.startsWith('POST '))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    relayedMessages: relayed,
    storeRequests: counters.storeRequests,
    gatewayRouteEvents: counters.gateway?.routes,
    gatewayManagementEvents: counters.gateway?.management,
    perRelayedMessage: {
      storeRequests: per(counters.storeRequests),
      ...(counters.gateway ? { sendServerInvocations: per(sendServer), managementPosts: per(posts) } : {}),
    },
  };
}

/**
 * Where one mpc -> cli hop's time goes on one server, from its instrumented phase: the client-side
 * hop median and the hop phase's sendServer invocations (counted before the round trips ran).
 */
function hopBreakdown(lat, hopCounters) {
  if (!lat?.hop?.latencyMs?.n || !hopCounters?.routes) return undefined;
  const bucket =
    hopCounters.routes.find((b) => b.key === 'sendServer (mpc -> cli)') ??
    // Without the authorizer's peer type in the event: in the hop phase every sendServer is mpc -> cli.
    hopCounters.routes.find((b) => b.key === 'sendServer');
  if (!bucket || bucket.invocations === 0) return undefined;
  const h = summarizeBucket(bucket, lat.hopsSent);
  const hop = lat.hop.latencyMs.median;
  const shared = h.handlerWithoutPostMs.median;
  return {
    hopMedianMs: hop,
    hopN: lat.hop.latencyMs.n,
    hopsLost: lat.hop.lost,
    invocations: h.invocations,
    invocationsPerHop: h.invocationsPerMessage,
    dynamodbRequestsPerInvocation: h.dynamodbRequestsPerInvocation,
    postsPerInvocation: h.postsPerInvocation,
    handlerMedianMs: h.handlerMs.median,
    dynamodbMedianMsPerMessage: h.dynamodbWallMsPerInvocation.median,
    dynamodbSumMedianMsPerMessage: h.dynamodbMsPerInvocation.median,
    postMedianMs: h.postMs.median,
    postWallMedianMs: h.postWallMsPerInvocation.median,
    handlerOwnCodeMedianMs: h.ownCodeMs.median,
    sharedMedianMs: shared,
    serverOwnMedianMs: typeof shared === 'number' ? round(hop - shared, 3) : undefined,
  };
}

const BREAKDOWN_METHOD =
  "Its own phase, after the side-by-side stages: an instrumented relay and an instrumented serverless-offline (both load the same wrapper modules around the unchanged bundles: AsyncLocalStorage around every invocation, http.request wrapped in every thread that runs handlers) answer sequential mpc -> cli hops in interleaved blocks. The hop is measured by the clients; the handler time around the bundle's exported handler; DynamoDB requests and the management POST at http.request (request to response end), attributed to the invocation that made them. Shared part = the handler's time without a POST outstanding (its own code, the AWS SDK's client-side work, its DynamoDB requests against the same store), per invocation: the same code on both servers. Server's own part = hop - shared part: receiving the frame, route selection, building the event, handing it to the handler's thread and back, and the management POST's round trip (the server verifying it and writing the frame to the cli). The handler's work after its POST answered (response parsing, return) follows the delivery but is counted in the shared part, so the shared part is an upper bound and the server's own part a lower bound.";

async function relaySection(results, { plain, instr }) {
  if (!plain?.lat?.relay) {
    results.relay = { skipped: 'apps/relay/dist/index.js is not built (startRelay missing)' };
    log('relay: skipped (apps/relay/dist/index.js missing)');
    return;
  }
  const lat = plain.lat.relay;
  const relayed = lat.hopsSent + 2 * lat.roundTripsSent;
  results.relay = {
    url: plain.url,
    options: relayOptions(),
    execution: 'environments',
    bundles: 'plain',
    hop: lat.hop,
    connect: plain.connect?.relay,
    roundTrip: lat.roundTrip,
    sampleDeliveryToCli: lat.hop.sampleDelivery,
    sampleDeliveryToMpc: lat.roundTrip.sampleDelivery,
    interleavedBlocks: lat.blocks,
    framesPerHop: {
      toReceiver: round(lat.framesDuringHops.toReceiver / lat.hopsSent, 3),
      toSender: round(lat.framesDuringHops.toSender / lat.hopsSent, 3),
    },
    plainCounts: plainCounts(plain.counters?.relay, relayed),
  };
  const ilat = instr?.lat?.relay;
  const counters = ilat && instr.counters?.relay;
  if (counters?.routes) {
    // Exact counts per route, from the instrumented relay's own phase (hops + round trips).
    const irelayed = ilat.hopsSent + 2 * ilat.roundTripsSent;
    const messageBuckets = counters.routes.filter((b) => b.key.startsWith('sendServer'));
    const totalInvocations = counters.routes.reduce((sum, b) => sum + b.invocations, 0);
    const messageInvocations = messageBuckets.reduce((sum, b) => sum + b.invocations, 0);
    const totalPosts = messageBuckets.reduce((sum, b) => sum + b.posts, 0);
    const totalDdb = messageBuckets.reduce((sum, b) => sum + b.dynamodbRequests, 0);
    const back = counters.routes.find((b) => b.key === 'sendServer (cli -> mpc)');
    Object.assign(results.relay, {
      instrumentedPhase: {
        bundles: 'instrumented',
        hop: ilat.hop,
        roundTrip: ilat.roundTrip,
        hopsSent: ilat.hopsSent,
        roundTripsSent: ilat.roundTripsSent,
        interleavedBlocks: ilat.blocks,
      },
      routes: counters.routes.map((b) => summarizeBucket(b, irelayed)),
      relayedMessages: irelayed,
      perRelayedMessage: {
        lambdaInvocations: round(messageInvocations / irelayed, 3),
        lambdaInvocationsAllRoutes: totalInvocations,
        managementPosts: round(totalPosts / irelayed, 3),
        dynamodbRequests: round(totalDdb / irelayed, 3),
        dynamodbOutsideHandlers: counters.outside.dynamodbRequests,
      },
      items: counters.items,
      crossCheck: {
        note: "The instrumented phase counted three ways: DynamoDB requests seen at http.request (all routes), the handlers' own request counter (SDK middleware), the store process's request counter, and the gateway's route / management events.",
        dynamodbRequestsAtHttp:
          counters.routes.reduce((sum, b) => sum + b.dynamodbRequests, 0) + counters.outside.dynamodbRequests,
        dynamodbRequestsByHandlersCounter: counters.handlersCounter,
        storeRequests: counters.storeRequests,
        gatewayRouteEvents: counters.gateway?.routes,
        gatewayManagementEvents: counters.gateway?.management,
      },
    });
    if (back) results.relay.backRoute = summarizeBucket(back);
  }
  // Where the time goes on one relayed message, on both servers (the instrumented phase).
  const relayB = hopBreakdown(ilat, ilat?.hopCounters);
  const peerB = hopBreakdown(instr?.lat?.[PEER_NAME], instr?.lat?.[PEER_NAME]?.hopCounters);
  if (relayB) {
    results.breakdown = {
      method: BREAKDOWN_METHOD,
      bundles: 'instrumented',
      relay: relayB,
      ...(peerB ? { [PEER_NAME]: peerB } : {}),
      baselineForwardMedianMs: results.baseline?.hop?.latencyMs?.median,
      ...(peerB
        ? {
            arithmetic: {
              hopGoalRatio: 0.5,
              // Both hops from the instrumented phase: the instrumentation weighs on both alike.
              ratioInThisPhase: ratio(relayB.hopMedianMs, peerB.hopMedianMs),
              sharedMs: relayB.sharedMedianMs,
              peerHopMs: peerB.hopMedianMs,
              bestReachableRatio: ratio(relayB.sharedMedianMs, peerB.hopMedianMs),
              goalHopMs: round(peerB.hopMedianMs * 0.5, 3),
              note: "best reachable = the relay's shared part / serverless-offline's hop: the ratio if the relay's own part were zero and the shared code stayed as it is",
            },
          }
        : {}),
    };
  }

  const tp = plain.tp?.relay;
  if (tp) {
    let profile;
    if (PLAN.profileMs > 0) profile = await profileSection(bestZeroLoss(tp) ?? tp.at(-1));
    results.relay.throughput = { stages: tp, profile, saturation: saturation(tp, profile) };
  }
  if (!skip.has('scale')) {
    log('relay: idle connections');
    // Instrumented: its $connect / $disconnect rows need the per-route counts.
    results.relay.scale = await scaleSection(startInstrumentedRelayChild, (url) => relayTarget(url), 'relay');
    results.relay.scale.relay = 'instrumented';
  }
}

const startBaseline = () => startChild(join(here, 'lib', 'baseline-server.mjs'));

async function baselineSection(results, server, lat, tp, connect) {
  try {
    results.baseline = { hop: lat?.hop, roundTrip: lat?.roundTrip, connect };
    if (tp) results.baseline.throughput = { stages: tp, saturation: saturation(tp) };
  } finally {
    await server.stop();
  }
  if (!skip.has('scale'))
    results.baseline.scale = await scaleSection(startBaseline, baselineTarget, 'baseline');
}

function memoryMb() {
  try {
    const text = readFileSync(join(root, 'infra', 'src', 'config.ts'), 'utf8');
    const m = /integer\('lambdaMemoryMb',\s*(\d+)/.exec(text);
    if (m) return Number(m[1]);
  } catch {
    // infra not there: the design's default
  }
  return 256;
}

function costSection(results) {
  const relay = results.relay;
  if (!relay?.routes) return;
  const hot = relay.routes.find((r) => r.route === 'sendServer (mpc -> cli)');
  const back = relay.routes.find((r) => r.route === 'sendServer (cli -> mpc)');
  if (!hot) return;
  const itemBytes = (kind) => relay.items?.find((i) => i.kind === kind)?.maxBytes;
  const hasGsi = (kind) => relay.items?.find((i) => i.kind === kind)?.hasGsiKey ?? false;
  const scaleItems = relay.scale?.items ?? [];
  const size = (kind) => itemBytes(kind) ?? scaleItems.find((i) => i.kind === kind)?.maxBytes ?? 200;
  const gsi = (kind) => hasGsi(kind) || (scaleItems.find((i) => i.kind === kind)?.hasGsiKey ?? false);
  const dynamodbLines = (route) =>
    Object.entries(route.dynamodbOperationsPerInvocation).map(([label, count]) => {
      const [op, kind = '?'] = label.split(' ');
      const consistent = label.includes('consistent');
      const known = kind !== '?';
      return {
        label: `${route.route}: ${label}`,
        op,
        count,
        itemBytes: known ? size(kind) : 200,
        itemsRead: 1,
        consistent,
        gsiWrites: op !== 'Query' && op !== 'GetItem' && known && gsi(kind) ? 1 : 0,
      };
    });
  const apiMessages = 1 + (relay.framesPerHop.toReceiver ?? 1) + (relay.framesPerHop.toSender ?? 0);
  const mem = memoryMb();
  const billed = (route) => Math.max(1, Math.ceil(route.handlerMs.median));
  const scenarios = [];
  const add = (name, route, memory, billedMs, note) => {
    scenarios.push({
      name,
      note,
      ...costPerMillion({
        memoryMb: memory,
        perMessage: {
          lambdaInvocations: route.invocationsPerMessage ? 1 : 1,
          handlerBilledMs: billedMs,
          apiGatewayMessages: apiMessages,
          dynamodb: dynamodbLines(route),
        },
      }),
    });
  };
  add(
    'mpc -> cli (PartialSig), local handler time',
    hot,
    mem,
    billed(hot),
    'handler duration as measured locally against dynalite',
  );
  // On AWS a DynamoDB call and a PostToConnection take milliseconds, not the loopback fraction.
  const awsMs = Math.ceil(
    (hot.ownCodeMs.median ?? 1) * 4 +
      (hot.dynamodbRequestsPerInvocation ?? 0) * 5 +
      (hot.postsPerInvocation ?? 1) * 10,
  );
  add(
    'mpc -> cli (PartialSig), AWS-like handler time',
    hot,
    mem,
    awsMs,
    'assumed, not measured: own code x4 (a 256 MB function gets a fraction of a vCPU), 5 ms per DynamoDB request, 10 ms per PostToConnection',
  );
  if (back)
    add(
      'cli -> mpc (FullSig), local handler time',
      back,
      mem,
      billed(back),
      'the answer leg of a v1 round trip',
    );
  results.cost = {
    prices: PRICES,
    assumptions: {
      lambdaMemoryMb: mem,
      lambdaArchitecture: 'arm64',
      apiGatewayMessagesPerRelayedMessage: apiMessages,
      apiGatewayMessagesNote:
        'one inbound frame + the frames the relay sent to the receiver and back to the sender per relayed message (counted on the clients); all under 32 KB',
      itemSizes: Object.fromEntries(
        [...(relay.items ?? []), ...scaleItems].map((i) => [
          i.kind,
          { maxBytes: i.maxBytes, gsiCopy: i.hasGsiKey },
        ]),
      ),
      gsi: 'byType projects ALL attributes: an item with gsi1pk is written twice (table + index)',
    },
    perMillionMessages: scenarios,
    connections: {
      perConnectionMonthUsd: connectionCost(1, 30 * 24 * 60),
      per1000ConnectionsMonthUsd: connectionCost(1000, 30 * 24 * 60),
      note: 'API Gateway bills connection minutes whether messages flow or not (plus one $connect Lambda + authorizer + DynamoDB writes per connection; connections last at most 2 h).',
    },
  };
}

/**
 * serverless-offline (bench/lib/peers/serverless-offline.mjs) in its child process, installed on
 * first use; records why when it cannot run (the run goes on without it). --quick never installs.
 */
async function startPeer(results, { instrumented = false } = {}) {
  if (instrumented) {
    // The instrumented phase: installed and started once already in this run.
    try {
      return await startChild(join(here, 'lib', 'peer-server.mjs'), {
        env: { BENCH_PEER_BUNDLES: snapshot?.dir ?? '', BENCH_INSTRUMENTED: '1' },
        readyTimeoutMs: 200_000,
      });
    } catch (error) {
      results.peers[PEER_NAME].instrumentedSkipped =
        `did not start: ${String(error?.message ?? error).slice(0, 800)}`;
      log(`peers: instrumented ${PEER_NAME} skipped: ${results.peers[PEER_NAME].instrumentedSkipped}`);
      return undefined;
    }
  }
  results.peers = { [PEER_NAME]: {} };
  const entry = results.peers[PEER_NAME];
  if (!existsSync(join(root, 'apps', 'relay', 'dist', 'store.js'))) {
    entry.skipped = 'apps/relay/dist/store.js is not built (the shared dynalite store)';
    return undefined;
  }
  try {
    if (quick && !peerInstalled()) {
      entry.skipped = 'not installed (--quick never installs it; a full `pnpm bench` does, once)';
      log(`peers: serverless-offline skipped: ${entry.skipped}`);
      return undefined;
    }
    entry.versions = await ensurePeerInstalled(log);
  } catch (error) {
    entry.skipped = `could not be installed: ${String(error?.message ?? error).slice(0, 500)}`;
    log(`peers: serverless-offline skipped: ${entry.skipped}`);
    return undefined;
  }
  try {
    const child = await startChild(join(here, 'lib', 'peer-server.mjs'), {
      env: { BENCH_PEER_BUNDLES: snapshot?.dir ?? '', BENCH_INSTRUMENTED: '0' },
      readyTimeoutMs: 200_000,
    });
    entry.note =
      'serverless-offline with its defaults (worker threads, handlers kept warm), the same bundles, handler environment and dynalite store as the relay, in its own child process';
    return child;
  } catch (error) {
    entry.skipped = `did not start: ${String(error?.message ?? error).slice(0, 800)}`;
    log(`peers: serverless-offline skipped: ${entry.skipped}`);
    return undefined;
  }
}

/** The run in progress, for the watchdog: what was measured before the time limit is kept. */
const current = {};

async function main() {
  const started = nowMs();
  const results = {
    schema: 1,
    date: new Date().toISOString(),
    command: `pnpm bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
    quick,
    machine: machine(),
    plan: PLAN,
  };
  log(
    `bench: ${results.machine.cpuModel}, ${results.machine.cores} cores, Node ${results.machine.node}${quick ? ' (quick)' : ''}`,
  );

  Object.assign(current, { results, started });
  // A failing section is recorded and the run goes on: the other figures are still worth having.
  const guard = async (section, fn) => {
    current.section = section;
    try {
      await fn();
    } catch (error) {
      results.errors ??= [];
      results.errors.push({ section, error: String(error?.stack ?? error).slice(0, 2000) });
      log(`${section} failed: ${error?.message ?? error}`);
    }
  };
  snapshot = snapshotBundles();
  results.bundles = { snapshot: 'bench/dist/shipped', sha256: snapshot.sha256 };
  results.loadAverageAtStart = os.loadavg().map((x) => round(x, 2));
  // Side by side: every server with the plain bundles (the relay exactly as serverless-offline gets
  // them); the relay's counts here come from outside the handlers only.
  const plain = {};
  let baseline;
  await guard('latency', async () => {
    baseline = await startBaseline();
    const servers = [{ name: 'baseline', kind: 'baseline', child: baseline }];
    const stopOthers = () =>
      Promise.all(servers.filter((s) => s.kind !== 'baseline').map((s) => s.child.stop().catch(() => {})));
    try {
      if (relayAvailable()) {
        servers.push({ name: 'relay', kind: 'relay', child: await startRelayChild() });
        // The same relay with every invocation in its main thread: what the execution environments
        // (Lambda's model) cost or give, in the same run.
        servers.push({
          name: 'relay (in-process)',
          kind: 'relay',
          child: await startRelayChild({ execution: 'in-process' }),
        });
      }
      if (!skip.has('peers')) {
        const peer = await startPeer(results);
        if (peer) servers.push({ name: PEER_NAME, kind: 'peer', child: peer });
      }
      for (const s of servers)
        s.target = s.kind === 'baseline' ? baselineTarget(s.child.ready.url) : relayTarget(s.child.ready.url);
      plain.url = servers.find((s) => s.name === 'relay')?.child.ready.url;
      log(`latency: ${servers.map((s) => s.name).join(', ')}, interleaved (plain bundles)`);
      // Counters of the hop phase and the round trip phase, together (from after the pairs connected).
      plain.lat = await interleavedLatency(servers, {
        beforeHops: resetCounters,
        afterRoundTrips: countersOf,
      });
      plain.counters = plain.lat.counters ?? {};
      log('connect time: interleaved');
      plain.connect = await interleavedConnects(servers);
      if (!skip.has('throughput')) {
        log('throughput: interleaved stages');
        plain.tp = await interleavedThroughput(servers);
      }
    } finally {
      await stopOthers();
    }
    const { lat, connect, tp } = plain;
    for (const s of servers.filter((x) => x.name === 'relay (in-process)'))
      results.relayInProcess = {
        execution: 'in-process',
        bundles: 'plain',
        hop: lat[s.name].hop,
        roundTrip: lat[s.name].roundTrip,
        connect: connect[s.name],
        plainCounts: plainCounts(
          plain.counters[s.name],
          lat[s.name].hopsSent + 2 * lat[s.name].roundTripsSent,
        ),
        ...(tp ? { throughput: { stages: tp[s.name], saturation: saturation(tp[s.name]) } } : {}),
      };
    const peer = servers.find((s) => s.kind === 'peer');
    if (peer) {
      const pl = lat[peer.name];
      Object.assign(results.peers[PEER_NAME], {
        bundles: 'plain',
        ...(pl.error ? { latencyError: pl.error } : {}),
        hop: pl.hop,
        roundTrip: pl.roundTrip,
        connect: connect[peer.name],
        ...(pl.error
          ? {}
          : { plainCounts: plainCounts(plain.counters[peer.name], pl.hopsSent + 2 * pl.roundTripsSent) }),
        ...(tp ? { throughput: { stages: tp[peer.name], saturation: saturation(tp[peer.name]) } } : {}),
      });
    }
  });

  // Where the time goes, and the exact counts: an instrumented relay and an instrumented
  // serverless-offline, on their own, after the side-by-side stages.
  const instr = {};
  if (relayAvailable()) {
    await guard('breakdown', async () => {
      const servers = [];
      try {
        servers.push({
          name: 'relay',
          kind: 'relay',
          child: await startRelayChild({}, { instrumented: true }),
        });
        if (results.peers?.[PEER_NAME]?.hop) {
          const peer = await startPeer(results, { instrumented: true });
          if (peer) servers.push({ name: PEER_NAME, kind: 'peer', child: peer });
        }
        for (const s of servers) s.target = relayTarget(s.child.ready.url);
        log(`breakdown: ${servers.map((s) => s.name).join(', ')}, instrumented, interleaved`);
        instr.lat = await interleavedLatency(servers, {
          beforeHops: resetCounters,
          afterHops: countersOf,
          afterRoundTrips: countersOf,
        });
        instr.counters = instr.lat.counters ?? {};
      } finally {
        await Promise.all(servers.map((s) => s.child.stop().catch(() => {})));
      }
      const pl = instr.lat?.[PEER_NAME];
      if (pl && !pl.error)
        results.peers[PEER_NAME].instrumentedPhase = {
          bundles: 'instrumented',
          hop: pl.hop,
          roundTrip: pl.roundTrip,
          hopsSent: pl.hopsSent,
          roundTripsSent: pl.roundTripsSent,
          storeRequests: instr.counters[PEER_NAME]?.storeRequests,
          environmentsAnswered: instr.counters[PEER_NAME]?.environmentsAnswered,
          routes: instr.counters[PEER_NAME]?.routes?.map((b) =>
            summarizeBucket(b, pl.hopsSent + 2 * pl.roundTripsSent),
          ),
        };
      else if (pl?.error) results.peers[PEER_NAME].instrumentedPhaseError = pl.error;
    });
  }
  if (baseline) {
    await guard('baseline', () =>
      baselineSection(results, baseline, plain.lat?.baseline, plain.tp?.baseline, plain.connect?.baseline),
    );
  }
  await guard('relay', () => relaySection(results, { plain, instr }));
  results.loadAverageAtEnd = os.loadavg().map((x) => round(x, 2));

  if (results.relay?.hop && results.baseline?.hop) {
    results.ratio = {
      hopMedian: ratio(results.relay.hop.latencyMs.median, results.baseline.hop.latencyMs.median),
      hopP95: ratio(results.relay.hop.latencyMs.p95, results.baseline.hop.latencyMs.p95),
      hopP99: ratio(results.relay.hop.latencyMs.p99, results.baseline.hop.latencyMs.p99),
      roundTripMedian: ratio(
        results.relay.roundTrip.latencyMs.median,
        results.baseline.roundTrip.latencyMs.median,
      ),
      throughput: ratio(
        results.relay.throughput?.saturation?.bestZeroLossMessagesPerSecond,
        results.baseline.throughput?.saturation?.bestZeroLossMessagesPerSecond,
      ),
    };
  }
  if (results.relay?.routes) {
    results.dynamodbRequestsPerMessage = Object.fromEntries(
      [
        ...results.relay.routes,
        ...(results.relay.scale?.connectRoutes ?? []),
        ...(results.relay.scale?.disconnectRoute ? [results.relay.scale.disconnectRoute] : []),
      ]
        .filter((r) => r.invocations > 0)
        .map((r) => [r.route, r.dynamodbRequestsPerInvocation]),
    );
    const hot = results.dynamodbRequestsPerMessage['sendServer (mpc -> cli)'];
    const back = results.dynamodbRequestsPerMessage['sendServer (cli -> mpc)'];
    results.budget = {
      hotPathDynamodbLimit: 2,
      hotPathDynamodbMax: Math.max(hot ?? 0, back ?? 0),
      withinBudget: Math.max(hot ?? 0, back ?? 0) <= 2,
      // PartialSig -> FullSig: the reply follows its conversation (1 GetItem, no Query).
      roundTripDynamodb: (hot ?? 0) + (back ?? 0),
      scanOnMessagePath: results.relay.routes.some((r) =>
        Object.keys(r.dynamodbOperationsPerInvocation).some((op) => op.startsWith('Scan')),
      ),
      lambdaInvocationsPerMessage: results.relay.perRelayedMessage.lambdaInvocations,
      managementPostsPerMessage: results.relay.perRelayedMessage.managementPosts,
    };
  }
  if (!skip.has('coldstart')) {
    await guard('coldstart', async () => {
      log('cold start: handler bundles vs naive bundles');
      results.coldStart = await measureColdStarts({
        runs: PLAN.coldRuns,
        budgetMs: quick ? 30_000 : 150_000,
        log,
      });
    });
  }
  if (!skip.has('sigv4')) {
    await guard('sigv4', async () => {
      log('sigv4: what signature verification costs per relayed message');
      results.sigv4 = await measureSigV4({
        iterations: quick ? 200 : 5000,
        frontRequests: quick ? 100 : 1500,
        log,
      });
      const hop = results.relay?.hop?.latencyMs?.median;
      if (hop) results.sigv4.shareOfHopMedian = round(results.sigv4.perMessageMedianMs / hop, 3);
    });
  }
  if (!skip.has('soak') && relayAvailable()) {
    await guard('soak', async () => {
      const messages = quick ? 100 : 4000;
      log(`soak: RSS and open store iterators over ${messages} messages`);
      const relayDist = process.env.BENCH_RELAY_MODULE ?? join(root, 'apps', 'relay', 'dist', 'index.js');
      results.soak = await measureSoak({
        relayModule: pathToFileURL(relayDist).href,
        messages,
        // Bounded so the whole run fits its time limit on a loaded machine (messages are counted as sent).
        budgetMs: quick ? 60_000 : 150_000,
      });
      if (results.soak.samples) {
        log(
          `  soak: ${results.soak.samples.map((p) => `${p.messages} msgs ${p.storeRssMb}/${p.relayRssMb} MB (store/relay) ${p.openIterators} iterators`).join(', ')}`,
        );
      }
    });
  }
  await guard('cost', () => costSection(results));
  finish(results, started);
}

/** Prints the table and writes results.json and BENCHMARKS.md from what was measured. */
function finish(results, started) {
  results.comparison = comparison(results);
  results.durationSeconds = Math.round((nowMs() - started) / 1000);

  process.stdout.write(renderTerminal(results));
  if (write) {
    const dir = outDir ?? here;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    const mdPath = outDir ? join(outDir, 'BENCHMARKS.md') : join(root, 'BENCHMARKS.md');
    writeFileSync(mdPath, renderMarkdown(results));
    log(`wrote ${join(dir, 'results.json')} and ${mdPath}`);
  }
}

const watchdog = setTimeout(
  () => {
    log(`bench: overall time limit reached (30 min) in section ${current.section ?? '?'}, aborting`);
    if (current.results) {
      const { results } = current;
      results.errors ??= [];
      results.errors.push({
        section: current.section ?? 'run',
        error:
          'the overall time limit (30 min) was reached here; this section and the later ones are missing',
      });
      try {
        costSection(results);
        finish(results, current.started);
      } catch (error) {
        log(`bench: could not write the partial results: ${error?.message ?? error}`);
      }
    }
    process.exit(2);
  },
  30 * 60 * 1000,
);
watchdog.unref();

main().then(
  () => process.exit(0),
  (error) => {
    log(`bench failed: ${error?.stack ?? error}`);
    process.exit(1);
  },
);
