/**
 * What one stack carries on AWS, on paper: the default quotas (sourced), the per-signature request
 * counts this bench measured, and the list prices of cost.mjs. A signing session is the v1
 * exchange: one PartialSig (mpc -> cli) and one FullSig (cli -> mpc).
 */
import { PRICES } from './cost.mjs';

export const QUOTAS = {
  checkedOn: '2026-12-01',
  apiGatewayAccountRps: {
    value: 10_000,
    text: '10,000 requests per second per account and Region, shared by HTTP, REST and WebSocket APIs and the WebSocket callback (`@connections`) API, burst up to 5,000 (adjustable)',
    source: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html',
  },
  newConnectionsPerSecond: {
    value: 500,
    text: '500 new WebSocket connections per second per account and Region (adjustable); no quota on concurrent connections (at 500/s and the 2-hour connection limit, AWS counts 3.6 million); idle timeout 10 minutes',
    source:
      'https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html',
  },
  lambdaConcurrency: {
    value: 1_000,
    text: '1,000 concurrent executions per account and Region (adjustable); each function scales by at most 1,000 execution environments every 10 seconds, then throttles (429)',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html',
  },
  dynamodbPartition: {
    read: 3_000,
    write: 1_000,
    text: 'each partition serves at most 3,000 read and 1,000 write request units per second (on-demand too); a new on-demand table takes 12,000 RRU / 4,000 WRU per second at once and adapts past that, doubling its previous peak within 30 minutes',
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html',
    source2: 'https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb',
  },
};

/** Requests one signing session makes, from the counted figures of the run (v1 defaults otherwise). */
export function perSession(r) {
  const route = (key) => r.relay?.routes?.find((x) => x.route === key);
  const hot = route('sendServer (mpc -> cli)');
  const back = route('sendServer (cli -> mpc)');
  const ops = (x) => Object.entries(x?.dynamodbOperationsPerInvocation ?? {});
  const units = (x, kind) =>
    ops(x).reduce((sum, [op, n]) => {
      const write = /^(PutItem|UpdateItem|DeleteItem)/.test(op);
      return sum + (kind === 'w' ? (write ? n : 0) : write ? 0 : n);
    }, 0);
  const measured = Boolean(hot && back);
  const apiPerRelayed = r.cost?.assumptions?.apiGatewayMessagesPerRelayedMessage ?? 2;
  return {
    measured,
    relayedMessages: 2,
    apiGatewayMessages: 2 * apiPerRelayed,
    // Each relayed message: one inbound frame (a request) and one @connections POST (a callback request).
    apiGatewayRequests: 2 + 2 * (measured ? (hot.postsPerInvocation + back.postsPerInvocation) / 2 : 1),
    lambdaInvocations: 2,
    wru: measured ? units(hot, 'w') + units(back, 'w') : 1,
    rru: measured ? units(hot, 'r') + units(back, 'r') : 3,
    // On AWS a handler waits milliseconds on DynamoDB and the management API: the cost model's guess.
    lambdaMsEach: 40,
    lambdaMemoryMb: r.cost?.assumptions?.lambdaMemoryMb ?? 256,
  };
}

function monthlyCost(sessionsPerDay, s) {
  const sessions = sessionsPerDay * 30;
  const messages = sessions * s.apiGatewayMessages;
  const firstBillion = Math.min(messages, 1e9);
  const api =
    (firstBillion * PRICES.apiGateway.websocketMessagesPerMillion + (messages - firstBillion) * 0.8) / 1e6;
  const invocations = sessions * s.lambdaInvocations;
  const lambda =
    (invocations * PRICES.lambda.requestsPerMillion) / 1e6 +
    invocations * (s.lambdaMsEach / 1000) * (s.lambdaMemoryMb / 1024) * PRICES.lambda.arm64PerGbSecond;
  const dynamodb =
    (sessions * s.wru * PRICES.dynamodb.writeRequestUnitsPerMillion +
      sessions * s.rru * PRICES.dynamodb.readRequestUnitsPerMillion) /
    1e6;
  return { sessions, api, lambda, dynamodb, total: api + lambda + dynamodb };
}

const usd = (x) => (x >= 100 ? `$${Math.round(x).toLocaleString('en-US')}` : `$${x.toFixed(2)}`);
const int = (x) => Math.round(x).toLocaleString('en-US');

export function scaleOnPaper(r) {
  const s = perSession(r);
  const q = QUOTAS;
  const apiLimit = q.apiGatewayAccountRps.value / s.apiGatewayRequests;
  const lambdaLimit = q.lambdaConcurrency.value / ((s.lambdaInvocations * s.lambdaMsEach) / 1000);
  const peerConnections = q.newConnectionsPerSecond.value * 7200;
  const hotCli = q.dynamodbPartition.read; // each PartialSig to one cli reads its PEER partition once
  const hotMapWrites = q.dynamodbPartition.write; // each PartialSig to one cli writes its MAP partition
  const costs = [10_000, 1_000_000, 100_000_000].map((n) => ({ n, ...monthlyCost(n, s) }));
  const lines = [];
  const p = (...xs) => lines.push(...xs);
  p(
    '## Scale on paper: one stack on AWS',
    '',
    `Not measured: the default AWS quotas (sources below, checked ${q.checkedOn}) applied to the requests one **signing session** (one PartialSig mpc -> cli, one FullSig cli -> mpc) makes, ${s.measured ? 'as counted by this run' : 'as the design counts them (this run did not count them)'}: ${s.apiGatewayMessages} API Gateway messages, ${s.apiGatewayRequests} API Gateway requests (${s.relayedMessages} inbound frames + ${s.relayedMessages} \`@connections\` posts), ${s.lambdaInvocations} Lambda invocations, ${s.rru} DynamoDB read units and ${s.wru} write unit${s.wru === 1 ? '' : 's'}. Lambda time on AWS assumed ${s.lambdaMsEach} ms per invocation (DynamoDB and the management API take milliseconds there, not the loopback fractions measured here).`,
    '',
    '| what | default quota | per signing session | ceiling in signing sessions/s or peers |',
    '|---|---|---|---|',
    `| API Gateway requests (messages in + \`@connections\` posts) | ${int(q.apiGatewayAccountRps.value)}/s per account and Region | ${s.apiGatewayRequests} | **${int(apiLimit)} sessions/s: the first limit** |`,
    `| Lambda concurrency | ${int(q.lambdaConcurrency.value)} per account and Region | ${s.lambdaInvocations} x ${s.lambdaMsEach} ms | ${int(lambdaLimit)} sessions/s |`,
    `| new WebSocket connections | ${q.newConnectionsPerSecond.value}/s per account and Region | 0 (peers stay connected) | ${int(peerConnections)} concurrent peers reconnecting every 2 h; a mass reconnect of 100,000 peers takes ${Math.round(100_000 / q.newConnectionsPerSecond.value)} s |`,
    `| DynamoDB, one hot cli (many mpcs to one cli) | ${int(q.dynamodbPartition.read)} RRU/s and ${int(q.dynamodbPartition.write)} WRU/s per partition | 1 strongly consistent read of \`PEER#cli#id\`, 1 write of \`MAP#id\` per PartialSig | ${int(Math.min(hotCli, hotMapWrites))} PartialSigs/s into one cli (the \`MAP\` write partition first) |`,
    `| DynamoDB, one mpc fanning out to many clis | same | reads and writes spread over the clis' keys | no single-key limit; the table's own (${int(12_000)} RRU / ${int(4_000)} WRU per second at once for a new on-demand table, then adapting) |`,
    `| DynamoDB, the table | adapts (on-demand) | ${s.rru} RRU + ${s.wru} WRU | ${int(4_000 / s.wru)} sessions/s at once on a new table, more after it adapts |`,
    '',
    'Cost per month (30 days), us-east-1 list prices of the cost model above, arm64 256 MB; connection minutes come on top ($0.0108 per peer connected all month, so $10.80 per 1,000 always-on peers):',
    '',
    '| signatures a day | sessions a month | API Gateway messages | Lambda | DynamoDB | total | average sessions/s |',
    '|---|---|---|---|---|---|---|',
    ...costs.map(
      (c) =>
        `| ${int(c.n)} | ${int(c.sessions)} | ${usd(c.api)} | ${usd(c.lambda)} | ${usd(c.dynamodb)} | **${usd(c.total)}** | ${(c.n / 86_400).toFixed(c.n < 1e6 ? 2 : 0)} |`,
    ),
    '',
    `- **10 thousand a day** (0.12/s) and **1 million a day** (about 12/s on average, peaks of 10x are still 116/s) fit the defaults with room to spare: nothing to raise. API Gateway messages are about ${Math.round((costs[1].api / costs[1].total) * 100)}% of the bill.`,
    `- **100 million a day** is 1,157 sessions/s on average: ${Math.round((1157 / apiLimit) * 100)}% of the API Gateway account throttle (${int(apiLimit)} sessions/s), so any peak above 2x throttles (429 on \`@connections\` posts: the fault system tests inject exactly that, and nothing is lost, but every retry is another request). Raise first: the **API Gateway account throttle** (Service Quotas L-8A5B8E43), then **Lambda concurrency** (peaks at ${Math.round((1157 * s.lambdaInvocations * s.lambdaMsEach) / 1000)} on average, ${Math.round((1157 * 5 * s.lambdaInvocations * s.lambdaMsEach) / 1000)} at a 5x peak), and the **new connections per second** if peers reconnect in waves (deploys, network events). DynamoDB needs no quota: on-demand adapts, keys spread per peer.`,
    '- **Past that, the design would change**: (1) shard by team or region: one stack per Region or account multiplies every per-account quota (clients of one team stay on one stack); (2) batch: several signing messages of one conversation in one frame, and one post per receiver for all of them (the quotas and the bill count requests, not bytes, up to 32 KB); (3) a cli receiving more than about 1,000 PartialSigs/s (the `MAP#cli` partition) shards its mapping key (`MAP#cli#n`) or keeps mappings in the message (the v2 conversation key) instead of a per-cli item; (4) cache `PEER` lookups in the Lambda environment for a few seconds (a stale connection already answers 410 and falls back to the inbox), cutting the reads per session by two; (5) at a sustained 10,000 sessions/s and more, API Gateway messages cost more than a fleet of WebSocket servers (ECS behind an NLB, the same handlers as libraries) would, and that is the point to move.',
    '',
    'Sources:',
    '',
    `- API Gateway account throttle: ${q.apiGatewayAccountRps.source}`,
    `- WebSocket quotas (new connections, duration, idle timeout): ${q.newConnectionsPerSecond.source}`,
    `- Lambda concurrency and scaling rate: ${q.lambdaConcurrency.source}`,
    `- DynamoDB per-partition limits and on-demand warm throughput: ${q.dynamodbPartition.source}; ${q.dynamodbPartition.source2}`,
    '- Prices: the cost model above (its sources and check date).',
    '',
  );
  return lines;
}
