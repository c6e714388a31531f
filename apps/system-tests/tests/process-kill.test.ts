/**
 * Fault: the relay PROCESS is killed with SIGKILL in the middle of a stream (no shutdown code runs:
 * no 1001 close, no $disconnect, no store flush) and started again on the same data folder and port,
 * twice. v1 clients (stop-and-wait sends, getConnectionId after each reconnect): at least once.
 * v2 clients (clientMsgId resent until acked, deliveries acked and deduplicated by messageId):
 * exactly once at the application.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pairReport, settlePairs } from './helpers/pairs.js';
import { RelayProcess } from './helpers/relay-process.js';
import { V1Pair } from './helpers/v1-client.js';
import { freePort, removeTempDirs, tempDir, waitFor } from './helpers/wait.js';

const relays: RelayProcess[] = [];
const pairs: V1Pair[] = [];
afterAll(async () => {
  await Promise.allSettled(pairs.map((pair) => pair.stop()));
  await Promise.allSettled(relays.map((relay) => relay.kill()));
  removeTempDirs();
});

async function start(port: number, dataDir: string): Promise<string> {
  const { relay, url } = await RelayProcess.start({ port, dataDir });
  relays.push(relay);
  return url;
}

for (const mode of ['v1', 'v2'] as const) {
  const v2 = mode === 'v2';
  describe(`relay process killed with SIGKILL mid-stream, restarted on the same data folder (${mode} clients)`, () => {
    it(
      v2
        ? 'v2 clients get every message exactly once at the application'
        : 'v1 clients that reconnect (and send getConnectionId) get every message at least once',
      async () => {
        const port = await freePort();
        const dataDir = tempDir(`kill-${mode}`);
        let url = await start(port, dataDir);
        const base = () => url;
        const list = Array.from({ length: 4 }, (_, i) => new V1Pair(base, `kill${mode}${i}`, { v2 }));
        pairs.push(...list);
        await Promise.all(list.map((pair) => pair.connect()));

        const perPair = 40;
        const streams = list.map(async (pair, p) => {
          for (let i = 0; i < perPair; i++) await pair.send(`kill-${mode}-${p}-${i}`);
        });
        for (const threshold of [8, 24]) {
          await waitFor(
            () => list.every((pair) => pair.cli.received.total >= threshold),
            `${threshold} deliveries per pair before the kill`,
            30_000,
          );
          const current = relays.at(-1)!;
          await current.kill();
          expect(current.signal).toBe('SIGKILL');
          url = await start(port, dataDir);
        }
        await Promise.all(streams);
        const complete = await settlePairs(list);
        const report = pairReport(list);
        console.log(`relay SIGKILL x2 (${mode}):`, JSON.stringify(report));
        expect(report.missingAtCli).toBe(0);
        expect(report.missingAtMpc).toBe(0);
        expect(report.unexpected).toBe(0);
        if (v2) {
          expect(report.duplicatedAtCli).toBe(0);
          expect(report.duplicatedAtMpc).toBe(0);
        }
        expect(complete).toBe(true);
        expect(relays.at(-1)!.running).toBe(true);
        await relays.at(-1)!.stop();
      },
    );
  });
}
