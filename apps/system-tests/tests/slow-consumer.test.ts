/**
 * A client that stops reading, as API Gateway bounds it: past the gateway's cap on bytes held for
 * it, posts to it answer 410 (the handlers keep the message in its inbox) and it is closed with
 * 1008 `slow consumer ...`. Other pairs go on. Resumed (v1) or cut off (v2), nothing is lost.
 */
import type { Socket } from 'node:net';
import { type Relay, startRelay } from '@mpc-relay/relay';
import { afterAll, describe, expect, it } from 'vitest';
import { pairReport, settlePairs } from './helpers/pairs.js';
import { partialSig, toCli, V1Pair } from './helpers/v1-client.js';
import { removeTempDirs, tempDir, waitFor } from './helpers/wait.js';

const CAP = 256 * 1024;
const MESSAGES = 120;
const PADDING = 'p'.repeat(20_000);

const relays: Relay[] = [];
afterAll(async () => {
  await Promise.allSettled(relays.map((relay) => relay.close()));
  removeTempDirs();
});

async function relayWithCap(): Promise<{
  relay: Relay;
  disconnects: { code: number; reason: string; cause: string }[];
}> {
  const relay = await startRelay({
    port: 0,
    dataDir: tempDir('slow-'),
    maxBufferedBytes: CAP,
    env: { LOG_LEVEL: 'CRITICAL' },
  });
  relays.push(relay);
  const disconnects: { code: number; reason: string; cause: string }[] = [];
  relay.gateway.on('disconnect', (d) => disconnects.push(d));
  return { relay, disconnects };
}

/** The client's TCP socket stops reading: what the relay sends piles up in the OS, then in the gateway. */
function pause(pair: V1Pair): Socket {
  const ws = pair.cli.socket?.ws;
  if (!ws) throw new Error(`${pair.cli.peer.id} is not connected`);
  const socket = (ws as unknown as { _socket: Socket })._socket;
  socket.pause();
  return socket;
}

/** A 20 KB PartialSig from the pair's mpc (120 of them: 2.4 MB, past the cap and the OS buffers). */
function sendBig(pair: V1Pair, id: string): Promise<number> {
  pair.sent.push(id);
  const frame = toCli(partialSig(pair.mpc.peer.id, id), pair.cli.peer.id, pair.mpc.peer.id);
  frame.message.partialSig = PADDING;
  return pair.mpc.sendConfirmed(pair.v2 ? { ...frame, clientMsgId: `ps-${id}` } : frame);
}

describe('slow consumer', () => {
  it('v1: a cli that stops reading is bounded and closed with 1008; resumed, it gets every message', async () => {
    const { relay, disconnects } = await relayWithCap();
    const slow = new V1Pair(() => relay.url, 'slow');
    const other = new V1Pair(() => relay.url, 'other');
    await Promise.all([slow.connect(), other.connect()]);
    const pausedSocket = slow.cli.socket;
    const socket = pause(slow);
    for (let i = 0; i < MESSAGES; i++) {
      await sendBig(slow, `slow-${i}`);
      // The other pair is not held up by the slow one.
      if (i % 10 === 0) await other.send(`other-${i}`);
    }
    await waitFor(
      () => disconnects.some((d) => d.cause === 'slow-consumer'),
      'the slow cli to be cut off',
      30_000,
    );
    expect(other.cli.received.missing(other.sent)).toEqual([]);
    socket.resume();
    // It reads what was buffered for it, then the close frame, reconnects and drains its inbox.
    await waitFor(() => pausedSocket?.closeCode !== undefined, 'the close frame at the slow cli', 30_000);
    expect(pausedSocket?.closeCode).toBe(1008);
    expect(pausedSocket?.closeReason).toMatch(/^slow consumer: \d+ bytes unread$/);
    expect(await settlePairs([slow, other], 60_000)).toBe(true);
    const report = pairReport([slow, other]);
    console.log('slow consumer (v1, resumed)', report);
    expect(report.missingAtCli + report.missingAtMpc).toBe(0);
    const cut = disconnects.find((d) => d.cause === 'slow-consumer');
    expect(cut?.code).toBe(1008);
    await Promise.all([slow.stop(), other.stop()]);
  });

  it('v2: a cli cut off while it did not read gets every message exactly once after it reconnects', async () => {
    const { relay, disconnects } = await relayWithCap();
    const slow = new V1Pair(() => relay.url, 'slow2', { v2: true });
    await slow.connect();
    pause(slow);
    for (let i = 0; i < MESSAGES; i++) await sendBig(slow, `slow2-${i}`);
    await waitFor(
      () => disconnects.some((d) => d.cause === 'slow-consumer'),
      'the slow cli to be cut off',
      30_000,
    );
    // Cut off: what was buffered for it is gone with the socket; v2 redelivers what it did not ack.
    slow.cli.terminate();
    expect(await settlePairs([slow], 90_000)).toBe(true);
    const report = pairReport([slow]);
    console.log('slow consumer (v2, cut off)', report);
    expect(report.missingAtCli + report.missingAtMpc).toBe(0);
    expect(report.duplicatedAtCli + report.duplicatedAtMpc).toBe(0);
    await slow.stop();
  });
});
