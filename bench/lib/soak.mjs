/**
 * Soak: RSS of the relay and of its store process, and the LevelDB iterators open in the store,
 * sampled as N messages go through (v1 pairs, mpc -> cli, each cli answering). Flat is the aim:
 * an iterator or buffer kept per request shows as a line that keeps rising. Loopback only,
 * bounded in count and time. Owned by the store's reliability work; `run.mjs` only calls it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectPair, relayTarget, seqOf, v1Frames } from './clients.mjs';
import { nowMs, round } from './stats.mjs';

const MB = 2 ** 20;

/**
 * @param {{ relayModule: string, messages: number, pairs?: number, samples?: number, budgetMs?: number }} plan
 */
export async function measureSoak({ relayModule, messages, pairs = 4, samples = 5, budgetMs = 300_000 }) {
  const { startRelay } = await import(relayModule);
  const dataDir = mkdtempSync(join(tmpdir(), 'mpc-relay-soak-'));
  const relay = await startRelay({ port: 0, dataDir, env: { LOG_LEVEL: 'CRITICAL' } });
  const started = nowMs();
  try {
    if (typeof relay.store?.stats !== 'function') return { skipped: 'this relay build has no store stats' };
    const target = relayTarget(relay.url);
    const conns = [];
    for (let i = 0; i < pairs; i++) conns.push(await connectPair(target, i, 'soak'));
    const sample = async (after) => {
      const store = await relay.store.stats();
      return {
        messages: after,
        relayRssMb: round(process.memoryUsage.rss() / MB, 1),
        storeRssMb: round(store.rssBytes / MB, 1),
        openIterators: store.openIterators,
        storeRequests: store.requests,
      };
    };
    const points = [await sample(0)];
    const perPair = Math.ceil(messages / pairs);
    const step = Math.max(1, Math.ceil(perPair / samples));
    let sent = 0;
    for (let done = 0; done < perPair && nowMs() - started < budgetMs; done += step) {
      const upTo = Math.min(perPair, done + step);
      await Promise.all(
        conns.map(async ({ cli, mpc, cliId, mpcId }) => {
          for (let seq = done; seq < upTo; seq++) {
            mpc.send(v1Frames.partialSig(mpcId, cliId, seq));
            await cli.nextMatching((text) => seqOf(text) === seq, 15_000);
            cli.send(v1Frames.fullSig(cliId, seq));
            await mpc.nextMatching((text) => seqOf(text) === seq, 15_000);
          }
        }),
      );
      sent += (upTo - done) * pairs;
      points.push(await sample(sent));
    }
    for (const { cli, mpc } of conns) {
      cli.socket.close();
      mpc.socket.close();
    }
    const first = points[1] ?? points[0];
    const last = points.at(-1);
    return {
      pairs,
      messages: sent,
      durationSeconds: round((nowMs() - started) / 1000, 1),
      samples: points,
      // From the first sample after warm-up to the last: what N more messages cost in memory.
      storeRssGrowthMb: round(last.storeRssMb - first.storeRssMb, 1),
      relayRssGrowthMb: round(last.relayRssMb - first.relayRssMb, 1),
      openIteratorsAtEnd: last.openIterators,
    };
  } finally {
    await relay.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
