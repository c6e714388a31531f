/**
 * Load: many mpc/cli pairs exchanging PartialSig / FullSig at the same time through one local relay
 * (the relay command as its own process, loopback only), with the signer library on both sides
 * (RelayClient; the cli co-signs with attachCosigner + SingleKeyCosigner). Every message is counted
 * by its transactionId at the application: zero lost, zero duplicated, every FullSig verified.
 * Run once with protocol v1 and once with protocol v2 (acks, dedupe, redelivery).
 * Bounded in count (PAIRS x PER_PAIR) and time; the figures are printed, never asserted.
 */
import { readFileSync } from 'node:fs';
import type { RelayClient, SignedFields } from '@mpc-relay/signer';
import { afterAll, describe, expect, it } from 'vitest';
import { RelayProcess } from './helpers/relay-process.js';
import { newSignerTally, signerPair } from './helpers/signer-pairs.js';
import { removeTempDirs, tempDir, waitFor } from './helpers/wait.js';

/** CPU seconds used so far by a process (Linux /proc; includes its start-up), or undefined elsewhere. */
function processCpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

const PAIRS = 50;
const PER_PAIR = 10;

const clients: RelayClient[] = [];
let relay: RelayProcess | undefined;
afterAll(async () => {
  await Promise.allSettled(clients.map((client) => client.close()));
  await relay?.stop().catch(() => relay?.kill());
  removeTempDirs();
});

describe.each(['v1', 'v2'] as const)('load, %s protocol', (protocol) => {
  it(`${PAIRS} mpc/cli pairs x ${PER_PAIR} PartialSig/FullSig exchanges at once: none lost, none duplicated`, async () => {
    const started = await RelayProcess.start({ port: 0, dataDir: tempDir(`load-${protocol}`) });
    relay = started.relay;
    const { url } = started;
    const tally = newSignerTally();
    const { partialAtCli, fullAtMpc, sent, invalid } = tally;
    const relayErrors: string[] = [];
    // Bounded retries (a refused or failed handshake is reported below, never waited on forever).
    const options = {
      url,
      protocol,
      reconnect: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 1_000 },
    } as const;
    const reconnects: string[] = [];

    const pairs = Array.from({ length: PAIRS }, (_, p) => {
      const { cli, mpc } = signerPair(options, { cli: `load-cli-${p}`, mpc: `load-mpc-${p}` }, tally);
      clients.push(cli, mpc);
      for (const client of [cli, mpc]) {
        client.on('relayError', (report) => relayErrors.push(report.raw));
        client.on('state', (change) => {
          if (change.state === 'reconnecting') reconnects.push(`${client.peer.id}: ${change.reason}`);
        });
      }
      return { cli, mpc, p };
    });
    await Promise.all(clients.map((client) => client.connect()));
    await waitFor(() => clients.every((client) => client.connectionId), 'every connection id', 30_000);

    const t0 = performance.now();
    for (let i = 0; i < PER_PAIR; i++) {
      for (const { mpc, cli, p } of pairs) {
        const message: SignedFields = {
          accountHash: `account-${p}`,
          teamId: 'team-load',
          transactionId: `load-${p}-${i}`,
          partialSig: `partial-${p}-${i}`,
        };
        sent.set(message.transactionId, message);
        void mpc.send({ operationType: 'PartialSig', cliId: cli.peer.id, message });
      }
    }
    const ids = [...sent.keys()];
    await waitFor(
      () => fullAtMpc.complete(ids) || relayErrors.length > 0,
      'every FullSig back at its mpc',
      60_000,
      5,
    );
    const seconds = (performance.now() - t0) / 1000;
    const messages = partialAtCli.total + fullAtMpc.total;
    const relayCpuS = processCpuSeconds(relay.child.pid);
    const figures = {
      protocol,
      pairs: PAIRS,
      partialSigs: partialAtCli.total,
      fullSigs: fullAtMpc.total,
      messages,
      durationS: Number(seconds.toFixed(2)),
      msgsPerS: Math.round(messages / seconds),
      exchangesPerS: Math.round(fullAtMpc.total / seconds),
      ...(relayCpuS !== undefined
        ? { relayCpuMsPerMessage: Number(((relayCpuS * 1000) / messages).toFixed(2)) }
        : {}),
    };
    console.log(`load: ${JSON.stringify(figures)}`);
    if (reconnects.length > 0) console.log(`load: reconnects ${JSON.stringify(reconnects.slice(0, 10))}`);
    expect(relayErrors).toEqual([]);
    expect(partialAtCli.summary(ids)).toEqual({
      sent: ids.length,
      delivered: ids.length,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    expect(fullAtMpc.summary(ids)).toEqual({
      sent: ids.length,
      delivered: ids.length,
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    expect(invalid).toEqual([]);
    if (protocol === 'v2') expect(clients.every((client) => client.protocol === 'v2')).toBe(true);
    expect(relay.running).toBe(true);
    await Promise.allSettled(clients.splice(0).map((client) => client.close()));
    await relay.stop();
  });
});
