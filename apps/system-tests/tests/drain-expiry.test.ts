/**
 * A drain killed midway (the relay process SIGKILLed while it delivers a v1 cli's backlog)
 * redelivers at most one batch; an EXPIRED report for a v2 sender that was offline reaches it
 * when it reconnects, once.
 */
import { type Relay, startRelay } from '@mpc-relay/relay';
import { partialSig } from '@mpc-relay/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { RelayProcess } from './helpers/relay-process.js';
import { deliveryOf, V1Peer, V1Socket } from './helpers/v1-client.js';
import { freePort, removeTempDirs, tempDir, waitFor } from './helpers/wait.js';

const processes: RelayProcess[] = [];
const relays: Relay[] = [];
afterAll(async () => {
  await Promise.allSettled([...processes.map((p) => p.kill()), ...relays.map((r) => r.close())]);
  removeTempDirs();
});

/** One batch of a drain's writes (packages/handlers DRAIN_BATCH). */
const DRAIN_BATCH = 25;

describe('crash mid-drain', { timeout: 600_000 }, () => {
  it('a v1 cli whose drain of 300 messages is killed after 100 gets the rest and at most one batch again', async () => {
    const port = await freePort();
    const dataDir = tempDir('drain-');
    const first = await RelayProcess.start(
      { port, dataDir, readyTimeoutMs: 90_000 },
      { LOG_LEVEL: 'CRITICAL' },
    );
    processes.push(first.relay);
    const mpc = new V1Peer(() => first.url, { type: 'mpc', id: 'mpc-drain' });
    const ids = Array.from({ length: 300 }, (_, i) => `drain-${String(i).padStart(3, '0')}`);
    // The cli is offline: everything waits in its inbox.
    for (const id of ids) await mpc.sendConfirmed(partialSig('mpc-drain', 'cli-drain', id));
    await mpc.stop();
    const cli = await V1Socket.openPeer(first.url, { type: 'cli', id: 'cli-drain' });
    const received: string[] = [];
    cli.onFrame((text) => {
      const id = deliveryOf(text)?.message?.transactionId;
      if (typeof id === 'string') received.push(id);
    });
    cli.send({ action: 'getConnectionId' });
    await waitFor(() => received.length >= 100, '100 deliveries of the drain', 60_000);
    await first.relay.kill();
    const killedAt = received.length;
    const second = await RelayProcess.start(
      { port, dataDir, readyTimeoutMs: 90_000 },
      { LOG_LEVEL: 'CRITICAL' },
    );
    processes.push(second.relay);
    const again = await V1Socket.openPeer(second.url, { type: 'cli', id: 'cli-drain' });
    again.onFrame((text) => {
      const id = deliveryOf(text)?.message?.transactionId;
      if (typeof id === 'string') received.push(id);
    });
    again.send({ action: 'getConnectionId' });
    await waitFor(() => ids.every((id) => received.includes(id)), 'every message at the cli', 60_000);
    const repeats = received.length - new Set(received).size;
    console.log(`drain killed after ${killedAt} of 300 deliveries: ${repeats} delivered again`);
    expect(ids.filter((id) => !received.includes(id))).toEqual([]);
    expect(repeats).toBeLessThanOrEqual(DRAIN_BATCH);
    again.close();
  });
});

describe('EXPIRED after reconnect', () => {
  it('a v2 sender offline when its message expired hears EXPIRED at its next connection, once', async () => {
    const relay = await startRelay({
      port: 0,
      dataDir: tempDir('expiry-'),
      env: { INBOX_TTL_SECONDS: '1', LOG_LEVEL: 'CRITICAL' },
    });
    relays.push(relay);
    const mpc = new V1Peer(() => relay.url, { type: 'mpc', id: 'mpc-exp' }, { v2: true });
    await mpc.sendConfirmed({
      ...partialSig('mpc-exp', 'cli-exp', 'exp-1'),
      clientMsgId: 'c-exp-1',
    });
    await mpc.stop();
    // Past its expiry (1 s), the receiver connects: the relay finds it expired, the sender is away.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const cli = new V1Peer(() => relay.url, { type: 'cli', id: 'cli-exp' }, { v2: true });
    await cli.collect();
    expect(cli.rawDeliveries).toBe(0);
    await cli.stop();
    const back = new V1Peer(() => relay.url, { type: 'mpc', id: 'mpc-exp' }, { v2: true });
    await back.collect();
    await waitFor(() => back.errorFrames.length > 0, 'the EXPIRED report', 15_000);
    expect(back.errorFrames.map((text) => JSON.parse(text))).toEqual([
      {
        error: {
          code: 'EXPIRED',
          message: expect.stringMatching(
            /expired undelivered: cli cli-exp did not connect before it expired$/,
          ),
          action: 'sendServer',
          clientMsgId: 'c-exp-1',
        },
      },
    ]);
    await back.stop();
    const later = new V1Peer(() => relay.url, { type: 'mpc', id: 'mpc-exp' }, { v2: true });
    await later.collect();
    await later.collect();
    expect(later.errorFrames).toEqual([]);
    await later.stop();
  });
});
