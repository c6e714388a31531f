/**
 * Fault: the relay PROCESS is killed with SIGKILL in the middle of a stream (no shutdown code runs:
 * no 1001 close, no $disconnect, no store flush) and started again on the same data folder and port.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pairReport, settlePairs } from './helpers/pairs.js';
import { RelayProcess } from './helpers/relay-process.js';
import { SeedPair } from './helpers/seed-client.js';
import { freePort, removeTempDirs, tempDir, waitFor } from './helpers/wait.js';

const relays: RelayProcess[] = [];
const pairs: SeedPair[] = [];
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

describe('relay process killed with SIGKILL mid-stream, restarted on the same data folder', () => {
  it('seed clients that reconnect (and send getConnectionId) get every message at least once', async () => {
    const port = await freePort();
    const dataDir = tempDir('kill');
    let url = await start(port, dataDir);
    const base = () => url;
    for (let i = 0; i < 4; i++) pairs.push(new SeedPair(base, `kill${i}`));
    await Promise.all(pairs.map((pair) => pair.connect()));

    const perPair = 40;
    const streams = pairs.map(async (pair, p) => {
      for (let i = 0; i < perPair; i++) await pair.send(`kill-${p}-${i}`);
    });
    for (const threshold of [8, 24]) {
      await waitFor(
        () => pairs.every((pair) => pair.cli.received.total >= threshold),
        `${threshold} deliveries per pair before the kill`,
        30_000,
      );
      const current = relays.at(-1)!;
      await current.kill();
      expect(current.signal).toBe('SIGKILL');
      url = await start(port, dataDir);
    }
    await Promise.all(streams);
    const complete = await settlePairs(pairs);
    const report = pairReport(pairs);
    console.log('relay SIGKILL x2, seed clients:', JSON.stringify(report));
    expect(report.missingAtCli).toBe(0);
    expect(report.missingAtMpc).toBe(0);
    expect(report.unexpected).toBe(0);
    expect(complete).toBe(true);
    expect(relays.at(-1)!.running).toBe(true);
  });
});
