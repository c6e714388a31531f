/**
 * The bench's outputs: a table for the terminal and BENCHMARKS.md, both from results.json.
 */
import { scaleOnPaper } from './scale-on-paper.mjs';

const dash = '-';

function fmt(x, digits = 2) {
  if (x === undefined || x === null || Number.isNaN(x)) return dash;
  if (typeof x === 'number') {
    if (Math.abs(x) >= 100) return String(Math.round(x));
    return String(Number(x.toFixed(digits)));
  }
  return String(x);
}

function dist(d) {
  if (!d?.n) return [dash, dash, dash, dash, dash];
  return [fmt(d.min, 3), fmt(d.median, 3), fmt(d.p95, 3), fmt(d.p99, 3), String(d.n)];
}

function kb(bytes) {
  return bytes === undefined ? dash : `${(bytes / 1024).toFixed(1)} KiB`;
}

function textTable(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) => cells.map((c, i) => String(c ?? '').padEnd(widths[i])).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function mdTable(headers, rows) {
  const esc = (c) => String(c ?? '').replace(/\|/g, '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

const PEER = 'serverless-offline';
const peerOf = (r) => (r.peers?.[PEER]?.hop ? r.peers[PEER] : undefined);

/** The servers measured in this run, in report order: [label, section]. */
function servers(r) {
  return [
    ['bare ws forwarder', r.baseline],
    ['local relay', r.relay],
    ['local relay, in-process', r.relayInProcess],
    [PEER, peerOf(r)],
  ].filter(([, x]) => x?.hop);
}

function latencyRows(r) {
  const rows = [];
  for (const [name, x] of servers(r)) rows.push([`${name}: hop (mpc -> cli)`, ...dist(x.hop.latencyMs)]);
  for (const [name, x] of servers(r))
    if (x.roundTrip) rows.push([`${name}: PartialSig -> FullSig`, ...dist(x.roundTrip.latencyMs)]);
  for (const [name, x] of servers(r))
    if (x.connect?.latencyMs?.n) rows.push([`${name}: connect (handshake)`, ...dist(x.connect.latencyMs)]);
  return rows;
}

/** The relay, in-process relay and serverless-offline against the bare forwarder and each other. */
export function comparison(r) {
  const base = r.baseline;
  const best = (x) => x?.throughput?.saturation?.bestZeroLossMessagesPerSecond;
  const ratioOf = (a, b) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : undefined);
  const row = (name, x) =>
    x?.hop && {
      name,
      hopMedianMs: x.hop.latencyMs.median,
      hopToBare: ratioOf(x.hop.latencyMs.median, base?.hop?.latencyMs?.median),
      roundTripMedianMs: x.roundTrip?.latencyMs?.median,
      roundTripToBare: ratioOf(x.roundTrip?.latencyMs?.median, base?.roundTrip?.latencyMs?.median),
      throughput: best(x),
      throughputToBare: ratioOf(best(x), best(base)),
      connectMedianMs: x.connect?.latencyMs?.median,
    };
  const relay = row('local relay (execution environments)', r.relay);
  const inProcess = row('local relay, in-process', r.relayInProcess);
  const peer = row(PEER, peerOf(r));
  const vsPeer = relay &&
    peer && {
      hopMedian: ratioOf(relay.hopMedianMs, peer.hopMedianMs),
      roundTripMedian: ratioOf(relay.roundTripMedianMs, peer.roundTripMedianMs),
      throughput: ratioOf(relay.throughput, peer.throughput),
      connectMedian: ratioOf(relay.connectMedianMs, peer.connectMedianMs),
    };
  return {
    rows: [
      base?.hop && {
        name: 'bare ws forwarder',
        hopMedianMs: base.hop.latencyMs.median,
        roundTripMedianMs: base.roundTrip?.latencyMs?.median,
        throughput: best(base),
        connectMedianMs: base.connect?.latencyMs?.median,
      },
      relay,
      inProcess,
      peer,
    ].filter(Boolean),
    vsPeer,
    goals: vsPeer && {
      hopAtMostHalf: vsPeer.hopMedian !== undefined ? vsPeer.hopMedian <= 0.5 : undefined,
      throughputAtLeastTwice: vsPeer.throughput !== undefined ? vsPeer.throughput >= 2 : undefined,
    },
    peerSkipped: r.peers?.[PEER]?.skipped,
    peerThroughputFailed: (peerOf(r)?.throughput?.stages?.length ?? 0) > 0 && best(peerOf(r)) === undefined,
    peerVersions: r.peers?.[PEER]?.versions,
  };
}

function comparisonRows(c) {
  const x = (v) => (v === undefined ? dash : `x${fmt(v)}`);
  return c.rows.map((row) => [
    row.name,
    row.hopMedianMs !== undefined ? `${fmt(row.hopMedianMs, 3)} ms` : dash,
    x(row.hopToBare),
    row.roundTripMedianMs !== undefined ? `${fmt(row.roundTripMedianMs, 3)} ms` : dash,
    x(row.roundTripToBare),
    row.throughput !== undefined ? `${row.throughput} msg/s` : dash,
    x(row.throughputToBare),
    row.connectMedianMs !== undefined ? `${fmt(row.connectMedianMs, 3)} ms` : dash,
  ]);
}

const COMPARISON_HEADERS = [
  'server',
  'hop median',
  'to bare ws',
  'round trip median',
  'to bare ws',
  'throughput (zero loss)',
  'to bare ws',
  'connect median',
];

function goalText(c) {
  if (!c.vsPeer) return c.peerSkipped ? `${PEER} not measured: ${c.peerSkipped}.` : `${PEER} not measured.`;
  const v = c.vsPeer;
  const met = (ok) => (ok === undefined ? 'not measured' : ok ? 'met' : '**not met**');
  const throughput =
    v.throughput === undefined && c.peerThroughputFailed
      ? `throughput: ${PEER} completed no stage without loss (see Throughput: its limits), the relay ${c.rows.find((x) => x.name.startsWith('local relay (')).throughput ?? dash} msg/s`
      : `throughput x${fmt(v.throughput)} (goal at least x2: ${met(c.goals.throughputAtLeastTwice)})`;
  return `Relay / ${PEER} in this run: hop median x${fmt(v.hopMedian)} (goal at most x0.5: ${met(c.goals.hopAtMostHalf)}), round trip median x${fmt(v.roundTripMedian)}, ${throughput}, connect median x${fmt(v.connectMedian)}.`;
}

/** Both servers' hop, split the same way (the instrumented phase); a server not measured shows a dash. */
function breakdownRows(b) {
  const rel = b.relay ?? {};
  const peer = b[PEER] ?? {};
  const ms = (x) => (x === undefined ? dash : fmt(x, 3));
  const row = (part, key, how) => [part, ms(rel[key]), ms(peer[key]), how];
  return [
    row('whole hop (mpc sends -> cli receives)', 'hopMedianMs', 'clients'),
    row('handler invocation (sendServer)', 'handlerMedianMs', "around the bundle's exported handler"),
    row(
      '  of which DynamoDB requests',
      'dynamodbMedianMsPerMessage',
      `wall time with a request outstanding (the Query and the PutItem run in parallel, counted once; summed: relay ${ms(rel.dynamodbSumMedianMsPerMessage)}, ${PEER} ${ms(peer.dynamodbSumMedianMsPerMessage)})`,
    ),
    row(
      '  of which management POST',
      'postMedianMs',
      'http.request to response end: the server verifying the POST and writing the frame to the cli, and the HTTP round trip',
    ),
    row(
      '  of which handler own code',
      'handlerOwnCodeMedianMs',
      "handler minus the time a call was outstanding: includes the AWS SDK's client-side work (marshalling, middleware, SigV4 signing, response parsing)",
    ),
    row(
      '**shared part** (same bundles, same store)',
      'sharedMedianMs',
      'per invocation: handler time without the POST outstanding (own code + DynamoDB)',
    ),
    row(
      "**server's own part**",
      'serverOwnMedianMs',
      'hop - shared part: frame in, routing, event, handing it to the thread and back, the POST',
    ),
  ];
}

/** The side-by-side servers' work per message, counted from outside their handlers. */
function plainCountsText(r) {
  const rel = r.relay?.plainCounts?.perRelayedMessage;
  const peer = peerOf(r)?.plainCounts?.perRelayedMessage;
  if (!rel) return undefined;
  return `The same work per relayed message in these stages, counted from outside the handlers over the hops and round trips: the plain relay ${fmt(rel.storeRequests)} store requests (the store process's own counter), ${fmt(rel.sendServerInvocations)} sendServer invocations and ${fmt(rel.managementPosts)} management POSTs (the gateway's events)${peer ? `; ${PEER} ${fmt(peer.storeRequests)} store requests` : ''}.`;
}

function arithmeticText(b) {
  const a = b?.arithmetic;
  if (!a) return undefined;
  return `The arithmetic, measured in this phase: the hop goal needs relay / ${PEER} at most x${fmt(a.hopGoalRatio)}, i.e. a relay hop of at most ${fmt(a.goalHopMs, 3)} ms against ${PEER}'s ${fmt(a.peerHopMs, 3)} ms; here it is x${fmt(a.ratioInThisPhase)}. With the relay's own part at zero and today's shared part (${fmt(a.sharedMs, 3)} ms), the best reachable is x${fmt(a.bestReachableRatio)} (shared / ${PEER} hop; ${PEER}'s own shared part, the same code in its worker threads, took ${fmt(b[PEER]?.sharedMedianMs, 3)} ms)${a.bestReachableRatio > a.hopGoalRatio ? ': the goal needs the shared part (the handler bundles and the store) to shrink, not only the relay' : ''}.`;
}

function throughputRows(r) {
  const rows = [];
  for (const [name, section] of [
    ['bare ws', r.baseline?.throughput],
    ['relay', r.relay?.throughput],
    ['relay, in-process', r.relayInProcess?.throughput],
    [PEER, peerOf(r)?.throughput],
  ]) {
    for (const s of section?.stages ?? []) {
      if (s.error || s.skipped) {
        rows.push([
          name,
          `${s.pairs} x ${s.window}`,
          s.error ? 'failed' : 'skipped',
          dash,
          dash,
          dash,
          dash,
          dash,
          dash,
          dash,
          s.warmUp?.serverThreads ?? dash,
          s.error ? `${s.error}${s.afterwards ? `; then ${s.afterwards}` : ''}` : `after ${s.skipped}`,
        ]);
        continue;
      }
      rows.push([
        name,
        `${s.pairs} x ${s.window}`,
        String(s.messagesPerSecond),
        String(s.lost),
        String(s.refused ?? 0),
        fmt(s.hopLatencyMs?.median, 2),
        fmt(s.hopLatencyMs?.p99, 2),
        `${fmt(s.serverCpuPercent, 0)}%`,
        fmt(s.serverCpuMsPerMessage, 3),
        `${fmt(s.clientCpuPercent, 0)}%`,
        s.serverThreads ?? dash,
        s.warmUp
          ? `warm-up ${fmt(s.warmUp.ms / 1000, 1)} s${s.afterwards ? `; then ${s.afterwards}` : ''}`
          : '',
      ]);
    }
  }
  return rows;
}

/** Per server: the stages it did not complete, as sentences (its limits, not a crash). */
function throughputLimits(r) {
  const out = [];
  for (const [name, section] of [
    ['bare ws', r.baseline?.throughput],
    ['relay', r.relay?.throughput],
    ['relay, in-process', r.relayInProcess?.throughput],
    [PEER, peerOf(r)?.throughput],
  ]) {
    const stages = section?.stages ?? [];
    const lossy = stages.find((s) => s.lost > 0 || s.refused > 0);
    const failed = stages.find((s) => s.error);
    if (lossy)
      out.push(
        `${name} ${lossy.lost > 0 ? `lost ${lossy.lost}` : 'lost none'} of ${lossy.sent} frames at ${lossy.pairs} x ${lossy.window} (${lossy.inFlight} in flight; drained for ${fmt((lossy.drainMs ?? 0) / 1000, 1)} s${lossy.refused ? `; ${lossy.refused} refused: error frames to the senders, e.g. \`${lossy.senderSample}\`` : ''}), so it was not loaded harder.`,
      );
    if (failed)
      out.push(
        `${name} failed at ${failed.pairs} x ${failed.window} (${failed.inFlight} in flight): ${failed.error}${failed.afterwards ? `; afterwards the server was ${failed.afterwards}` : ''}.`,
      );
  }
  return out;
}

function routeRows(r) {
  const scaleRun = (x) => ({ ...x, route: `${x.route} [idle-connection run]` });
  const routes = [...(r.relay?.routes ?? []), ...(r.relay?.scale?.connectRoutes ?? []).map(scaleRun)];
  if (r.relay?.scale?.disconnectRoute) routes.push(scaleRun(r.relay.scale.disconnectRoute));
  return routes
    .filter((x) => x.invocations > 0)
    .map((x) => [
      x.route,
      String(x.invocations),
      fmt(x.dynamodbRequestsPerInvocation, 2),
      Object.entries(x.dynamodbOperationsPerInvocation)
        .map(([op, n]) => `${op} x${fmt(n, 2)}`)
        .join(', ') || 'none',
      fmt(x.postsPerInvocation, 2),
      fmt(x.handlerMs?.median, 3),
    ]);
}

function coldRows(r) {
  return (r.coldStart?.bundles ?? [])
    .filter((b) => !b.error)
    .map((b) => [
      b.handler,
      kb(b.bundle.rawBytes),
      kb(b.bundle.gzipBytes),
      fmt(b.importMs.median, 1),
      fmt(b.wholeProcessMs.median, 1),
      kb(b.naive?.rawBytes),
      fmt(b.naive?.importMs?.median, 1),
      b.ratio ? `${fmt(b.ratio.importMedian, 1)}x` : dash,
      b.ratio ? `${fmt(b.ratio.wholeProcessMedian, 2)}x` : dash,
    ]);
}

function scaleRows(r) {
  const rows = [];
  for (const [name, s] of [
    ['bare ws', r.baseline?.scale],
    ['relay', r.relay?.scale],
  ]) {
    for (const l of s?.levels ?? []) {
      rows.push([
        name,
        String(l.held),
        fmt(l.rssMb, 1),
        fmt(l.heapUsedMb, 1),
        fmt(l.rssMbPer1k, 1),
        fmt(l.heapKbPerConnection, 1),
        String(l.acceptedPerSecond),
      ]);
    }
  }
  return rows;
}

function costRows(r) {
  const rows = [];
  for (const s of r.cost?.perMillionMessages ?? []) {
    for (const l of s.lines)
      rows.push([s.name, l.item, `${fmt(l.quantity, 1)} ${l.unit}`, `$${l.usd.toFixed(4)}`]);
    rows.push([s.name, 'total', '', `$${s.totalUsd.toFixed(4)}`]);
  }
  return rows;
}

const H = {
  latency: ['distribution (ms)', 'min', 'median', 'p95', 'p99', 'n'],
  throughput: [
    'server',
    'pairs x window',
    'msg/s',
    'lost',
    'refused',
    'hop median ms',
    'hop p99 ms',
    'server CPU',
    'server CPU ms/msg',
    'bench CPU',
    'server threads',
    'note',
  ],
  routes: [
    'route',
    'invocations',
    'DynamoDB req/inv',
    'operations per invocation',
    'posts/inv',
    'handler median ms',
  ],
  cold: [
    'handler',
    'raw',
    'gzip',
    'import ms',
    'process ms',
    'naive raw',
    'naive import ms',
    'import ratio',
    'process ratio',
  ],
  scale: [
    'server',
    'idle connections',
    'RSS MB',
    'heap MB',
    'RSS MB per 1k',
    'heap KB per conn',
    'accepted/s',
  ],
  cost: ['scenario', 'item', 'quantity per 1M messages', 'USD per 1M'],
};

export function headline(r) {
  const out = {};
  out.hopMedianMs = r.relay?.hop?.latencyMs?.median;
  out.baselineHopMedianMs = r.baseline?.hop?.latencyMs?.median;
  out.hopRatio = r.ratio?.hopMedian;
  out.roundTripMedianMs = r.relay?.roundTrip?.latencyMs?.median;
  out.roundTripRatio = r.ratio?.roundTripMedian;
  out.throughput = r.relay?.throughput?.saturation?.bestZeroLossMessagesPerSecond;
  out.baselineThroughput = r.baseline?.throughput?.saturation?.bestZeroLossMessagesPerSecond;
  out.saturation = r.relay?.throughput?.saturation?.resource;
  out.dynamodb = r.dynamodbRequestsPerMessage;
  const ratios = (r.coldStart?.bundles ?? [])
    .map((b) => b.ratio?.importMedian)
    .filter((x) => typeof x === 'number');
  out.coldStartImportRatioRange = ratios.length ? [Math.min(...ratios), Math.max(...ratios)] : undefined;
  const hot = (r.coldStart?.bundles ?? []).find((b) => b.handler === 'sendServer');
  out.sendServerImportMs = hot?.importMs?.median;
  out.sendServerNaiveImportMs = hot?.naive?.importMs?.median;
  out.sendServerRawBytes = hot?.bundle?.rawBytes;
  out.sendServerImportRatio = hot?.ratio?.importMedian;
  const lastLevel = r.relay?.scale?.levels?.at(-1);
  out.rssMbPer1kConnections = lastLevel?.rssMbPer1k;
  out.maxIdleConnections = lastLevel?.held;
  out.acceptedPerSecond = r.relay?.scale?.levels?.[0]?.acceptedPerSecond;
  out.costPerMillionUsd = r.cost?.perMillionMessages?.[0]?.totalUsd;
  return out;
}

export function renderTerminal(r) {
  const parts = [];
  parts.push(
    `\nmpc-relay bench, ${r.date}: ${r.machine.cpuModel}, ${r.machine.cores} cores, Node ${r.machine.node}${r.quick ? ' (QUICK: not figures)' : ''}\n`,
  );
  if (r.loadAverageAtStart) {
    parts.push(
      `load average (1, 5, 15 min) at start ${r.loadAverageAtStart.join(', ')}, at end ${r.loadAverageAtEnd?.join(', ')}${r.loadAverageAtStart[0] > r.machine.cores * 0.5 ? ': OTHER LOAD on the machine, figures are pessimistic' : ''}\n`,
    );
  }
  parts.push(textTable(H.latency, latencyRows(r)));
  if (r.ratio) {
    parts.push(
      `relay / bare ws: hop median x${fmt(r.ratio.hopMedian)}, p99 x${fmt(r.ratio.hopP99)}, round trip median x${fmt(r.ratio.roundTripMedian)}`,
    );
  }
  if (r.relay?.skipped) parts.push(`relay: ${r.relay.skipped}`);
  const c = comparison(r);
  if (c.rows.length > 1) parts.push(`\n${textTable(COMPARISON_HEADERS, comparisonRows(c))}`, goalText(c));
  if (r.breakdown) {
    const b = r.breakdown;
    parts.push(
      `\nwhere one hop's time goes (instrumented phase, medians, ms):\n${textTable(
        ['part', 'relay', PEER],
        breakdownRows(b).map((x) => [x[0].replace(/\*\*/g, ''), x[1], x[2]]),
      )}`,
    );
    const arithmetic = arithmeticText(b);
    if (arithmetic) parts.push(arithmetic.replace(/\*\*/g, ''));
  }
  const tp = throughputRows(r);
  if (tp.length) parts.push(`\n${textTable(H.throughput, tp)}`, ...throughputLimits(r));
  const sat = r.relay?.throughput?.saturation;
  if (sat)
    parts.push(
      `relay saturates at ${sat.bestZeroLossMessagesPerSecond} msg/s with zero loss (${fmt(sat.serverCpuMsPerMessage, 3)} ms of relay CPU per message, ${sat.messagesPerCoreSecond} msg per core-second): ${sat.resource}`,
    );
  const prof = r.relay?.throughput?.profile;
  if (prof) {
    parts.push(
      `relay CPU profile at saturation: ${prof.categories
        .slice(0, 6)
        .map((c) => `${c.category} ${c.share}%`)
        .join('; ')}`,
    );
  }
  const routes = routeRows(r);
  if (routes.length) parts.push(`\n${textTable(H.routes, routes)}`);
  if (r.budget) {
    parts.push(
      `hot path: ${r.budget.hotPathDynamodbMax} DynamoDB requests (budget ${r.budget.hotPathDynamodbLimit}: ${r.budget.withinBudget ? 'within' : 'OVER'}), ${fmt(r.budget.lambdaInvocationsPerMessage)} Lambda invocations and ${fmt(r.budget.managementPostsPerMessage)} management posts per relayed message${r.budget.scanOnMessagePath ? ', SCAN on a message path!' : ''}`,
    );
  }
  const cold = coldRows(r);
  if (cold.length) parts.push(`\n${textTable(H.cold, cold)}`);
  if (r.coldStart?.emptyModule) {
    parts.push(
      `empty module: import ${fmt(r.coldStart.emptyModule.importMs.median, 1)} ms, process ${fmt(r.coldStart.emptyModule.wholeProcessMs.median, 1)} ms (the floor)`,
    );
  }
  if (r.sigv4) parts.push(`\n${sigv4Line(r)}`);
  const scale = scaleRows(r);
  if (scale.length) parts.push(`\n${textTable(H.scale, scale)}`);
  const cost = costRows(r);
  if (cost.length) parts.push(`\n${textTable(H.cost, cost)}`);
  if (r.cost) {
    parts.push(
      `connections: $${r.cost.connections.per1000ConnectionsMonthUsd} per 1000 connections held a month (connection minutes only)`,
    );
  }
  for (const e of r.errors ?? []) parts.push(`\nSECTION FAILED: ${e.section}: ${e.error.split('\n')[0]}`);
  parts.push(`\nwhole run: ${r.durationSeconds} s\n`);
  return `${parts.join('\n')}\n`;
}

/** One relayed message's signature checks: 3 verify() calls plus what the verified store hop adds, twice. */
function sigv4Line(r) {
  const v = r.sigv4;
  const share =
    v.shareOfHopMedian !== undefined ? ` (${fmt(v.shareOfHopMedian * 100, 1)}% of the hop median)` : '';
  const hop = v.storeHop;
  return `SigV4 per relayed message: ${fmt(v.perMessageMedianMs, 3)} ms${share} = verify() of its 3 signed requests ${fmt(v.verifyPerMessageMs.median, 3)} ms (median; first call with key derivation ${fmt(v.firstVerifyMs, 1)} ms) + 2 x what the verified store adds to a DynamoDB request ${fmt(hop.overheadMedianMs, 3)} ms (a GetItem to the relay's store, verified in its process, ${fmt(hop.verifiedMs.median, 3)} ms vs a bare dynalite ${fmt(hop.bareMs.median, 3)} ms, medians${hop.relayCpuMsPerRequest !== undefined ? `; the store costs the relay process ${fmt(hop.relayCpuMsPerRequest, 3)} ms of CPU per request` : ''})`;
}

export function renderMarkdown(r) {
  const h = headline(r);
  const m = r.machine;
  const b = r.breakdown;
  const sat = r.relay?.throughput?.saturation;
  const prof = r.relay?.throughput?.profile;
  const lines = [];
  const p = (...xs) => lines.push(...xs);
  p(
    '# Benchmarks',
    '',
    '<!-- Generated by `pnpm bench` (bench/run.mjs); edit bench/lib/report.mjs, not this file. -->',
    '',
    'What the relay costs, measured: latency against a bare WebSocket forwarder, where the time goes,',
    'throughput, DynamoDB requests per message, cold start of the Lambda bundles, how many idle',
    'connections one local relay holds, and what a million relayed messages cost on AWS.',
    'CI does not run this: it asserts nothing about speed (machines are noisy). Run it yourself:',
    '',
    '```sh',
    'pnpm bench                         # builds, then runs everything (10 to 25 minutes on 2 cores)',
    'node bench/run.mjs --skip=coldstart,scale   # only latency and throughput',
    'node bench/run.mjs --skip=peers             # without serverless-offline (installed on first use)',
    'node bench/run.mjs --quick --no-write       # a few seconds: checks the scripts still work',
    '```',
    '',
    'It prints a table, writes every figure to `bench/results.json` (machine, date, samples summaries)',
    'and rewrites this file.',
    '',
    `## Latest run`,
    '',
    `${r.date.slice(0, 10)} on ${m.cpuModel}, ${m.cores} cores, ${m.totalMemoryGb} GB, Node ${m.node}, ${m.platform}, \`ulimit -n\` ${m.fileDescriptorLimit}. Command: \`${r.command}\` (${r.durationSeconds} s).${r.quick ? ' **Quick mode: these are not figures.**' : ''}`,
    '',
    ...(r.loadAverageAtStart
      ? [
          `Load average (1, 5, 15 min) at start ${r.loadAverageAtStart.join(', ')}, at end ${r.loadAverageAtEnd?.join(', ')}${r.loadAverageAtStart[0] > m.cores * 0.5 ? ': **other work was running on the machine** (the figures are pessimistic; the ratios, measured in interleaved blocks, and the CPU per message hold better than absolute times)' : ''}.`,
          '',
        ]
      : []),
    ...(r.errors?.length
      ? [
          `**Sections that failed in this run** (their figures are missing): ${r.errors.map((e) => `${e.section} (${e.error.split('\n')[0]})`).join('; ')}.`,
          '',
        ]
      : []),
    '### Headline',
    '',
  );
  const rows = [];
  if (h.hopMedianMs !== undefined) {
    rows.push([
      'one relayed hop (mpc -> cli), median',
      `${fmt(h.hopMedianMs, 3)} ms`,
      `plain bundles; bare ws: ${fmt(h.baselineHopMedianMs, 3)} ms, ratio x${fmt(h.hopRatio)}`,
    ]);
    rows.push([
      'v1 round trip PartialSig -> FullSig, median',
      `${fmt(h.roundTripMedianMs, 3)} ms`,
      `ratio to bare ws x${fmt(h.roundTripRatio)}`,
    ]);
  }
  const cmp = comparison(r);
  if (cmp.vsPeer)
    rows.push([
      `against ${PEER} (same plain bundles, same run)`,
      `hop x${fmt(cmp.vsPeer.hopMedian)}, throughput x${fmt(cmp.vsPeer.throughput)}`,
      `relay / ${PEER}; goals: hop at most x0.5, throughput at least x2`,
    ]);
  const split = r.breakdown;
  if (split?.relay) {
    const peerSplit = split[PEER];
    rows.push([
      "one hop split: shared part (same bundles, same store) + server's own part, median",
      `relay ${fmt(split.relay.sharedMedianMs, 3)} + ${fmt(split.relay.serverOwnMedianMs, 3)} ms${peerSplit ? `; ${PEER} ${fmt(peerSplit.sharedMedianMs, 3)} + ${fmt(peerSplit.serverOwnMedianMs, 3)} ms` : ''}`,
      `both instrumented, their own phase${split.arithmetic ? `; with the relay's own part at zero: x${fmt(split.arithmetic.bestReachableRatio)} (goal x0.5)` : ''}`,
    ]);
  }
  if (h.throughput !== undefined)
    rows.push([
      'throughput, zero loss',
      `${h.throughput} msg/s`,
      `bare ws: ${h.baselineThroughput} msg/s; limit: ${h.saturation}`,
    ]);
  if (h.dynamodb) {
    rows.push([
      'DynamoDB requests per relayed message',
      `${fmt(h.dynamodb['sendServer (mpc -> cli)'])} (mpc -> cli), ${fmt(h.dynamodb['sendServer (cli -> mpc)'])} (cli -> mpc)`,
      'budget 2 on the hot path',
    ]);
  }
  if (r.budget)
    rows.push([
      'Lambda invocations / management posts per message',
      `${fmt(r.budget.lambdaInvocationsPerMessage)} / ${fmt(r.budget.managementPostsPerMessage)}`,
      'budget 1 / 1',
    ]);
  if (h.sendServerImportMs !== undefined) {
    rows.push([
      'cold start, sendServer module import, median',
      `${fmt(h.sendServerImportMs, 1)} ms`,
      `naive bundle: ${fmt(h.sendServerNaiveImportMs, 1)} ms; all handlers: naive / ours x${h.coldStartImportRatioRange?.join(' to x')}`,
    ]);
  }
  if (h.sendServerRawBytes !== undefined) {
    const target = 300_000; // the handlers' budget test: 300 KB, decimal
    rows.push([
      'sendServer bundle, raw',
      kb(h.sendServerRawBytes),
      `${h.sendServerRawBytes.toLocaleString('en-US')} bytes; target at most 300 KB (300,000 bytes): ${h.sendServerRawBytes <= target ? 'met' : `**not met** (${kb(h.sendServerRawBytes - target)} over)`}; import naive / ours x${fmt(h.sendServerImportRatio, 1)} (target at least x2: ${h.sendServerImportRatio === undefined ? 'not measured' : h.sendServerImportRatio >= 2 ? 'met' : '**not met**'})`,
    ]);
  }
  if (r.soak?.samples) {
    rows.push([
      `soak: ${r.soak.messages} messages`,
      `store RSS ${fmt(r.soak.storeRssGrowthMb, 1)} MB, relay RSS ${fmt(r.soak.relayRssGrowthMb, 1)} MB`,
      `growth after warm-up; ${r.soak.openIteratorsAtEnd} store iterators open at the end`,
    ]);
  }
  if (h.rssMbPer1kConnections !== undefined) {
    rows.push([
      'memory per 1k idle connections (RSS)',
      `${fmt(h.rssMbPer1kConnections, 1)} MB`,
      `${h.maxIdleConnections} held; ${h.acceptedPerSecond} connections accepted/s`,
    ]);
  }
  if (h.costPerMillionUsd !== undefined)
    rows.push([
      'AWS cost per million relayed messages',
      `$${h.costPerMillionUsd.toFixed(2)}`,
      'us-east-1 list prices, see the cost model',
    ]);
  p(mdTable(['figure', 'value', 'context'], rows), '');

  p(
    '### How to read the figures',
    '',
    '- Every distribution gives min / median / p95 / p99 and n, in milliseconds. Compare medians; p99 on a',
    '  shared 2-core machine is noise-prone (GC, the other process).',
    '- The **ratio to the bare `ws` forwarder** is the figure that travels across machines: the forwarder',
    '  (bench/lib/baseline-server.mjs) pairs two sockets and writes each frame to the other, no parsing,',
    '  no handler, no store. It is the floor of two loopback WebSocket hops in Node on that machine.',
    '- The servers run in their own child process (CPU and memory measured alone); the clients are raw',
    '  `ws` sockets in the bench process speaking protocol v1 (`getConnectionId`, then `sendServer`',
    "  with the original demo's PartialSig / FullSig frames). Loopback only.",
    '- Counts (DynamoDB requests, invocations, posts) are exact, not sampled; they are what AWS bills.',
    '  Which relay a figure comes from (plain or instrumented) is said where it is shown (see Method notes).',
    '  Times measured locally are not AWS times: dynalite on loopback answers in a fraction of the',
    '  milliseconds DynamoDB takes, and the local gateway has no network between it and the handlers.',
    '',
    '## Latency',
    '',
    mdTable(H.latency, latencyRows(r)),
    '',
  );
  if (r.ratio) {
    p(
      `Relay / bare ws: hop median x${fmt(r.ratio.hopMedian)}, p95 x${fmt(r.ratio.hopP95)}, p99 x${fmt(r.ratio.hopP99)}; round trip median x${fmt(r.ratio.roundTripMedian)}.`,
      `Sequential: one message in flight, ${r.plan.hops} hops after ${r.plan.hopWarmup} warm-up ones, ${r.plan.roundTrips} round trips after ${r.plan.rtWarmup}.`,
      '',
    );
  }
  if (r.relay?.skipped) p(`Relay not measured: ${r.relay.skipped}.`, '');
  const c = comparison(r);
  p(
    `### Side by side: the relay, the same relay in-process, ${PEER} (measured in this run)`,
    '',
    mdTable(COMPARISON_HEADERS, comparisonRows(c)),
    '',
    goalText(c),
    '',
    `Every server runs the same built handler bundles as shipped (a snapshot taken at the start of the run; no bench instrumentation in any of them: the relays here are the plain ones) against dynalite in its own child process, and answers the same raw \`ws\` clients; hops, round trips, connects and throughput stages run in interleaved blocks, so the machine's other load hits them alike. The local relay runs each function in execution environments (worker threads, Lambda's model: the default); the in-process relay runs every invocation in the gateway's thread (\`execution: 'in-process'\`); ${PEER}${c.peerVersions ? ` ${c.peerVersions['serverless-offline']} with serverless ${c.peerVersions.serverless}` : ''} runs with its defaults (worker threads, handlers kept warm), installed on first use into \`bench/.peers\` (\`--skip=peers\` leaves it out). Connect: the WebSocket handshake to \`open\` (authorizer and \`$connect\` included), one at a time.`,
    '',
    ...(plainCountsText(r) ? [plainCountsText(r), ''] : []),
  );
  if (b) {
    p(
      '## Where the time goes on one relayed message',
      '',
      `Both servers instrumented alike, in their own phase (not the side-by-side above): ${b.relay?.hopN ?? dash} sequential mpc -> cli hops each, in interleaved blocks, after a warm-up. Medians in ms.`,
      '',
      mdTable(['part', 'local relay', PEER, 'how it is measured'], breakdownRows(b)),
      '',
      ...(arithmeticText(b) ? [arithmeticText(b), ''] : []),
      `Bare ws forward (the floor of two loopback WebSocket hops): ${fmt(b.baselineForwardMedianMs, 3)} ms.`,
      '',
      `Method: ${b.method}`,
      '',
      'Medians of different distributions do not add up exactly; read the rows as shares. The instrumentation itself (AsyncLocalStorage, the wrapped `http.request`) makes both hops longer than in the side-by-side: compare the two columns with each other, and the side-by-side figures with the side-by-side ones.',
      '',
    );
  }
  p('## Throughput', '');
  const tp = throughputRows(r);
  if (tp.length) {
    p(
      mdTable(H.throughput, tp),
      '',
      `Pairs x window: that many mpc/cli pairs, each mpc keeping up to \`window\` PartialSig frames in flight (it sends the next one when its cli receives one, or the relay refuses one), ${r.plan.stageMs / 1000} s per stage, then a drain that waits while frames keep coming (until every frame is received or refused, 10 s without a frame, or 60 s): refused = answered with an error frame to its sender, lost = neither received nor refused by the end of it. Before each measured stage a warm-up round (one window per pair, every frame awaited, at most ${(r.plan.warmUpBudgetMs ?? 30_000) / 1000} s): a server that starts an execution environment per concurrent invocation starts them there; one that cannot deliver that round in time fails the stage. Zero loss = every frame sent was received, none refused (a late frame of an earlier stage is never counted). A server that fails a stage, or loses or refuses frames, is not loaded harder; before the next server runs it gets up to 30 s to work off its backlog, or it is stopped. CPU = process CPU time / wall time (100% = one core); server threads = the server process's threads after the stage.`,
      '',
      ...throughputLimits(r).flatMap((x) => [x, '']),
    );
  }
  if (sat)
    p(
      `**Saturation:** ${sat.bestZeroLossMessagesPerSecond} msg/s with zero loss at ${sat.atInFlight} in flight; limit: ${sat.resource}. The relay spends ${fmt(sat.serverCpuMsPerMessage, 3)} ms of CPU per relayed message, so one core relays about ${sat.messagesPerCoreSecond} messages a second; the msg/s also depends on how much of a core the relay gets on a shared machine.`,
      '',
    );
  if (prof) {
    p(
      `CPU profile of a plain relay (the shipped bundles, rebuilt with a source map, byte-identical) in-process during a ${r.plan.profileMs / 1000} s stage at ${prof.stage.pairs} x ${prof.stage.window} (${prof.stage.messagesPerSecond} msg/s under the profiler), self time by where the code lives:`,
      '',
      mdTable(
        ['code', 'share of samples', 'ms'],
        prof.categories.map((c) => [c.category, `${c.share}%`, String(c.ms)]),
      ),
      '',
    );
  }
  p('## DynamoDB requests, Lambda invocations, management posts', '');
  const routes = routeRows(r);
  if (routes.length) {
    p(
      mdTable(H.routes, routes),
      '',
      "Counted exactly on the instrumented relay, in its own phase (the hops and round trips of the breakdown), by wrapping `http.request` (DynamoDB calls by their `X-Amz-Target`, posts by `/@connections/`) and attributed to the route whose handler made them; handler times are the instrumented relay's. `$connect` / `$disconnect` rows come from the idle-connection run (an instrumented relay too; there, handler times include queueing: thousands of handshakes or closes at once).",
      '',
      r.relay?.crossCheck
        ? `Cross-check over that phase: ${r.relay.crossCheck.dynamodbRequestsAtHttp} DynamoDB requests seen at http.request, ${r.relay.crossCheck.dynamodbRequestsByHandlersCounter?.total ?? dash} counted by the handlers' own SDK middleware counter, ${r.relay.crossCheck.storeRequests ?? dash} by the store process; the gateway reported ${Object.entries(
            r.relay.crossCheck.gatewayManagementEvents ?? {},
          )
            .map(([k, v]) => `${v} management ${k}`)
            .join(', ')} and route events ${Object.entries(r.relay.crossCheck.gatewayRouteEvents ?? {})
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}.`
        : '',
      '',
    );
  }
  if (r.budget) {
    p(
      `Hot path: **${r.budget.hotPathDynamodbMax} DynamoDB requests** per relayed message (budget ${r.budget.hotPathDynamodbLimit}: ${r.budget.withinBudget ? 'within budget' : '**over budget**'}), no Scan: ${r.budget.scanOnMessagePath ? '**a Scan was seen**' : 'none seen'}. ${fmt(r.budget.lambdaInvocationsPerMessage)} Lambda invocations and ${fmt(r.budget.managementPostsPerMessage)} management posts per relayed message (budget 1 and 1). In results.json: \`dynamodbRequestsPerMessage\`.`,
      '',
    );
  }
  p('## Cold start of the handler bundles', '');
  const cold = coldRows(r);
  if (cold.length) {
    p(
      mdTable(H.cold, cold),
      '',
      `${r.coldStart.method} Median of ${r.coldStart.runsPerBundle} runs for sendServer${r.coldStart.runsOtherBundles ? `, ${r.coldStart.runsOtherBundles} for the others` : ''}.${
        (r.coldStart.bundles ?? []).some((b) => b.error)
          ? ` Not measured: ${r.coldStart.bundles
              .filter((b) => b.error)
              .map((b) => `${b.handler} (${b.error})`)
              .join(', ')}.`
          : ''
      } An empty module costs ${fmt(r.coldStart.emptyModule.importMs.median, 1)} ms to import and ${fmt(r.coldStart.emptyModule.wholeProcessMs.median, 1)} ms of whole process: the floor.`,
      '',
      `Naive bundle: ${r.coldStart.naiveBuild}. Ratios are naive / ours (higher is better for ours).`,
      '',
      'On Lambda the init phase also loads the runtime; module start is the part a bundle controls.',
      '',
    );
  }
  if (r.sigv4) {
    const f = r.sigv4.storeHop;
    p(
      '## What SigV4 verification costs',
      '',
      sigv4Line(r),
      '',
      mdTable(H.latency, [
        ["GetItem to the relay's store, verified in its process (as the relay runs)", ...dist(f.verifiedMs)],
        ['GetItem to a bare dynalite in its own process (no check)', ...dist(f.bareMs)],
      ]),
      '',
      r.sigv4.method,
      '',
    );
  }
  if (r.soak?.samples) {
    p(
      '## Soak: memory and store iterators over many messages',
      '',
      mdTable(
        ['messages', 'relay RSS MB', 'store process RSS MB', 'open store iterators', 'store requests'],
        r.soak.samples.map((x) => [
          String(x.messages),
          fmt(x.relayRssMb, 1),
          fmt(x.storeRssMb, 1),
          String(x.openIterators ?? dash),
          String(x.storeRequests ?? dash),
        ]),
      ),
      '',
      `${r.soak.messages} v1 round trips (PartialSig, then the cli's FullSig) over ${r.soak.pairs} pairs through a relay started in the bench process (bench/lib/soak.mjs), ${r.soak.durationSeconds} s. From the first sample after warm-up to the last: relay RSS ${fmt(r.soak.relayRssGrowthMb, 1)} MB, store process RSS ${fmt(r.soak.storeRssGrowthMb, 1)} MB; ${r.soak.openIteratorsAtEnd} LevelDB iterators open at the end. Flat is the aim: something kept per request shows as a line that keeps rising.`,
      '',
    );
  } else if (r.soak?.skipped) p('## Soak', '', `Not measured: ${r.soak.skipped}.`, '');
  p('## Scale of one local relay: idle connections', '');
  const scale = scaleRows(r);
  if (scale.length) {
    const s = r.relay?.scale;
    p(
      mdTable(H.scale, scale),
      '',
      `An instrumented relay (its route rows above need the per-route counts). Connections opened ${s?.handshakeConcurrency ?? 64} handshakes at a time (each runs the authorizer and \`$connect\` on the relay), held idle; memory read in the server process after a forced GC. "RSS MB per 1k" is (RSS at that level - RSS with no connection) / level x 1000. Accepted/s is the rate while reaching that level.${s?.limitedBy ? ` Limited by ${s.limitedBy}.` : ''}${s?.failures ? ` ${s.failures} handshakes failed (first: ${s.firstError}).` : ''}`,
      '',
    );
  }
  if (r.cost) {
    const c = r.cost;
    p(
      '## AWS cost model',
      '',
      `Per million relayed messages, from the counted figures above, us-east-1 list prices, on-demand, no free tier. Lambda ${c.assumptions.lambdaArchitecture}, ${c.assumptions.lambdaMemoryMb} MB (infra default). ${c.assumptions.apiGatewayMessagesPerRelayedMessage} API Gateway messages per relayed message (${c.assumptions.apiGatewayMessagesNote}).`,
      '',
      mdTable(H.cost, costRows(r)),
      '',
      'DynamoDB request units per request:',
      '',
      mdTable(
        ['request', 'per message', 'item bytes', 'WRU each', 'RRU each'],
        c.perMillionMessages[0].dynamodb.map((d) => [
          d.label,
          fmt(d.count),
          String(d.itemBytes),
          fmt(d.wruEach),
          fmt(d.rruEach),
        ]),
      ),
      '',
      `Item sizes measured from the items the handlers wrote (DynamoDB's size rules: attribute names + values): ${Object.entries(
        c.assumptions.itemSizes,
      )
        .map(([k, v]) => `${k} ${v.maxBytes} B${v.gsiCopy ? ' (+ GSI copy)' : ''}`)
        .join(', ')}. ${c.assumptions.gsi}. Queries read one item of that size.`,
      '',
      `Connections: $${c.connections.per1000ConnectionsMonthUsd} per 1000 connections held for a month (${c.connections.note})`,
      '',
      'Prices:',
      '',
      `- API Gateway: ${c.prices.apiGateway.note}`,
      `- Lambda: ${c.prices.lambda.note}`,
      `- DynamoDB: ${c.prices.dynamodb.note}`,
      '',
      `Checked ${c.prices.checkedOn}. ${c.prices.verification} Sources:`,
      '',
      ...c.prices.sources.map((s) => `- ${s}`),
      '',
    );
  }
  p(...scaleOnPaper(r));
  p(
    '## Method notes',
    '',
    '- Every loop is bounded in count and in time, every wait has a timeout; the whole run has a',
    '  watchdog (30 min: what was measured by then is still written). Ports are random (port 0) on 127.0.0.1.',
    '- The relay is the real `startRelay` of `apps/relay` (local gateway, the built Lambda bundles, dynalite),',
    '  in a child process, its handlers in execution environments (worker threads, the default).',
    '- Two kinds of relay, never mixed in one comparison. **Plain**: the shipped bundles as they are, exactly',
    '  as serverless-offline gets them: the side-by-side latency, connects and throughput, the headline, the',
    '  CPU profile (in-process: the profiler samples one thread). Its counts come from outside the handlers',
    "  (the gateway's route / management events, the store process's request counter). **Instrumented**:",
    "  the gateway loads wrapper modules that wrap each unchanged bundle's `handler` export (AsyncLocalStorage",
    '  around every invocation), and `http.request` is wrapped in every thread that runs handlers (the',
    "  environments answer the relay's main thread over a BroadcastChannel): where the time goes, the exact",
    '  per-route counts, the cost model, the idle-connection run. It runs in its own phase, with an',
    '  instrumented serverless-offline (the same wrapper modules in its service folder) beside it, so the',
    "  breakdown compares like with like too. The relay's code is not changed in either.",
    '- Each server runs in a fresh child process per phase; the relay for the idle-connection run is a fresh one.',
    '- Idle connections: the file descriptor limit (`ulimit -n`) bounds both the relay and the bench',
    '  process (each connection is one descriptor on each side).',
    '',
  );
  return `${lines.join('\n')}`;
}
