import type { V1Pair } from './v1-client.js';
import { sleep } from './wait.js';

/**
 * Waits (bounded) until every pair saw every PartialSig at the cli and every FullSig back at the
 * mpc, asking for waiting messages (`getConnectionId`) between rounds as a v1 client would.
 * Returns whether it completed; the test then asserts on the counters.
 */
export async function settlePairs(pairs: readonly V1Pair[], withinMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (let round = 0; round < 1_000 && Date.now() < deadline; round++) {
    for (const pair of pairs) {
      let settled = 0;
      while (settled < pair.replies.length && Date.now() < deadline) {
        const batch = pair.replies.slice(settled);
        await Promise.allSettled(batch);
        settled += batch.length;
      }
    }
    if (pairs.every((pair) => pair.complete())) return true;
    await Promise.allSettled(pairs.flatMap((pair) => [pair.cli.collect(), pair.mpc.collect()]));
    await sleep(50);
  }
  return pairs.every((pair) => pair.complete());
}

export function pairReport(pairs: readonly V1Pair[]) {
  const sum = (pick: (pair: V1Pair) => number) => pairs.reduce((n, pair) => n + pick(pair), 0);
  return {
    pairs: pairs.length,
    sent: sum((p) => p.sent.length),
    partialSigsDelivered: sum((p) => p.cli.received.total),
    fullSigsDelivered: sum((p) => p.mpc.received.total),
    missingAtCli: sum((p) => p.cli.received.missing(p.sent).length),
    missingAtMpc: sum((p) => p.mpc.received.missing(p.sent).length),
    duplicatedAtCli: sum((p) => p.cli.received.duplicated().length),
    duplicatedAtMpc: sum((p) => p.mpc.received.duplicated().length),
    unexpected: sum(
      (p) => p.cli.received.unexpected(p.sent).length + p.mpc.received.unexpected(p.sent).length,
    ),
    deliveryFrames: sum((p) => p.mpc.rawDeliveries + p.cli.rawDeliveries),
    resends: sum((p) => p.mpc.retries + p.cli.retries),
    reconnects: sum((p) => p.mpc.connects + p.cli.connects - 2),
  };
}
