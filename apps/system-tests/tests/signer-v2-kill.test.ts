/**
 * The signer library's protocol v2 under the harshest fault: the relay process is SIGKILLed twice
 * mid-stream and restarted on the same data folder and port. mpc RelayClients send PartialSigs,
 * cli RelayClients co-sign them (attachCosigner + SingleKeyCosigner); the library alone reconnects,
 * resends unacknowledged sends with the same clientMsgId, acknowledges deliveries and drops
 * redeliveries. Every PartialSig reaches its cli application exactly once and every FullSig its
 * mpc application exactly once, with a valid signature.
 */
import type { RelayClient, SignedFields } from '@mpc-relay/signer';
import { afterAll, describe, expect, it } from 'vitest';
import { RelayProcess } from './helpers/relay-process.js';
import { newSignerTally, signerPair } from './helpers/signer-pairs.js';
import { freePort, removeTempDirs, tempDir, waitFor } from './helpers/wait.js';

const PAIRS = 8;
const PER_PAIR = 30;

const relays: RelayProcess[] = [];
const clients: RelayClient[] = [];
afterAll(async () => {
  await Promise.allSettled(clients.map((client) => client.close()));
  await Promise.allSettled(relays.map((relay) => relay.kill()));
  removeTempDirs();
});

describe('signer library, protocol v2, relay SIGKILLed twice mid-stream', () => {
  it('every PartialSig and FullSig reaches the application exactly once', async () => {
    const port = await freePort();
    const dataDir = tempDir('signer-kill');
    const start = async () => {
      const { relay, url } = await RelayProcess.start({ port, dataDir });
      relays.push(relay);
      return url;
    };
    const url = await start();
    const tally = newSignerTally();
    const { partialAtCli, fullAtMpc, sent, invalid } = tally;
    const refused: string[] = [];
    const options = {
      url,
      protocol: 'v2',
      reconnect: { initialDelayMs: 50, maxDelayMs: 500, stableAfterMs: 500 },
    } as const;
    const pairs = Array.from({ length: PAIRS }, (_, p) => {
      const { cli, mpc } = signerPair(options, { cli: `sk-cli-${p}`, mpc: `sk-mpc-${p}` }, tally, {
        onSendFailed: ({ transactionId, error }) => refused.push(`${transactionId}: ${error.message}`),
      });
      clients.push(cli, mpc);
      return { cli, mpc, p };
    });
    await Promise.all(clients.map((client) => client.connect()));
    expect(clients.every((client) => client.protocol === 'v2')).toBe(true);

    const streams = pairs.map(async ({ cli, mpc, p }) => {
      for (let i = 0; i < PER_PAIR; i++) {
        const message: SignedFields = {
          accountHash: `account-${p}`,
          teamId: 'team-kill',
          transactionId: `sk-${p}-${i}`,
          partialSig: `partial-${p}-${i}`,
        };
        sent.set(message.transactionId, message);
        // Resolves on the relay's ack result (kept and resent across reconnects until then).
        await mpc.send({ operationType: 'PartialSig', cliId: cli.peer.id, message });
      }
    });
    for (const threshold of [PER_PAIR * 0.25, PER_PAIR * 0.6]) {
      await waitFor(
        () => partialAtCli.total >= PAIRS * threshold,
        `${threshold} per pair before the kill`,
        60_000,
      );
      await relays.at(-1)!.kill();
      await start();
    }
    await Promise.all(streams);
    const ids = [...sent.keys()];
    await waitFor(
      () => fullAtMpc.complete(ids) && partialAtCli.complete(ids),
      'every FullSig back',
      90_000,
      20,
    );
    const report = {
      pairs: PAIRS,
      partialAtCli: partialAtCli.summary(ids),
      fullAtMpc: fullAtMpc.summary(ids),
    };
    console.log(`signer v2, SIGKILL x2: ${JSON.stringify(report)}`);
    const exact = { sent: ids.length, delivered: ids.length, missing: 0, duplicated: 0, unexpected: 0 };
    expect(report.partialAtCli).toEqual(exact);
    expect(report.fullAtMpc).toEqual(exact);
    expect(invalid).toEqual([]);
    expect(refused).toEqual([]);
    expect(relays.at(-1)!.running).toBe(true);
  });
});
