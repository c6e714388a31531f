/**
 * A client that stops reading, as API Gateway bounds it: past the gateway's cap on bytes held for
 * it, posts to it answer 410 (the handlers keep the message in its inbox) and it is closed with
 * 1008 `slow consumer ...`. Other pairs go on. Resumed (v1) or cut off (v2), nothing is lost.
 */
import type { Socket } from 'node:net';
import { type Relay, startRelay } from '@mpc-relay/relay';
import { partialSig } from '@mpc-relay/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { pairReport, settlePairs } from './helpers/pairs.js';
import { isPong, V1Pair } from './helpers/v1-client.js';
import { removeTempDirs, tempDir, waitFor } from './helpers/wait.js';

const CAP = 256 * 1024;
/** Bound on what the mpc sends: 30 MB, past any loopback buffering. */
const MESSAGES = 1_500;
/** Frames sent back to back, then a ping: the pong says the relay handled them all. */
const BURST = 50;
const PADDING = 'p'.repeat(20_000);

const relays: Relay[] = [];
afterAll(async () => {
  await Promise.allSettled(relays.map((relay) => relay.close()));
  removeTempDirs();
});

async function relayWithCap(closeTimeoutMs?: number): Promise<{
  relay: Relay;
  disconnects: { code: number; reason: string; cause: string }[];
}> {
  const relay = await startRelay({
    port: 0,
    dataDir: tempDir('slow-'),
    maxBufferedBytes: CAP,
    ...(closeTimeoutMs !== undefined ? { closeTimeoutMs } : {}),
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

const cutOff = (disconnects: { cause: string }[]) => disconnects.some((d) => d.cause === 'slow-consumer');

/** `count` PartialSigs of 20 KB from the pair's mpc, back to back, confirmed together by a pong. */
async function burst(pair: V1Pair, prefix: string, count: number): Promise<void> {
  const socket = pair.mpc.socket;
  if (!socket) throw new Error('mpc not connected');
  const mark = socket.frames.length;
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i}`;
    pair.sent.push(id);
    const frame = partialSig(pair.mpc.peer.id, pair.cli.peer.id, id);
    frame.message.partialSig = PADDING;
    socket.send(pair.v2 ? { ...frame, clientMsgId: `ps-${id}` } : frame);
  }
  socket.send({ action: 'ping' });
  const pong = await socket.waitFrame(isPong, mark, 120_000);
  // Every one was taken (delivered or kept for the cli): no refusal to send again.
  const refused = socket.frames.slice(mark, pong.index).filter((text) => text.includes('"error"'));
  expect(refused).toEqual([]);
}

describe('slow consumer', { timeout: 300_000 }, () => {
  it('v1: a cli that stops reading is bounded and closed with 1008; resumed, it gets every message', async () => {
    const { relay, disconnects } = await relayWithCap();
    const slow = new V1Pair(() => relay.url, 'slow');
    const other = new V1Pair(() => relay.url, 'other');
    await Promise.all([slow.connect(), other.connect()]);
    const pausedSocket = slow.cli.socket;
    const socket = pause(slow);
    // Until the OS buffers (several MB on loopback) and then the gateway's cap are full.
    // Until a post to it is refused (410): the gateway is closing it.
    let gone = false;
    relay.gateway.on('management', (m) => {
      if (m.status === 410) gone = true;
    });
    for (let i = 0; i < MESSAGES && !gone; i += BURST) {
      await burst(slow, `slow-${i}`, BURST);
      // The other pair is not held up by the slow one.
      await other.send(`other-${i}`);
    }
    expect(gone).toBe(true);
    // Resumed before the gateway gives up on the closing handshake (30 s), it reads the close frame.
    socket.resume();
    await waitFor(() => cutOff(disconnects), 'the slow cli to be cut off', 30_000);
    // Sends past the cut-off wait in its inbox.
    await burst(slow, 'slow-after', 5);
    // The other pair got everything meanwhile.
    await waitFor(
      () => other.cli.received.missing(other.sent).length === 0,
      "the other pair's messages",
      60_000,
    );
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
    // A short closing handshake: the cut-off is the same event as after the default 30 s.
    const { relay, disconnects } = await relayWithCap(2_000);
    const slow = new V1Pair(() => relay.url, 'slow2', { v2: true });
    await slow.connect();
    pause(slow);
    let gone = false;
    relay.gateway.on('management', (m) => {
      if (m.status === 410) gone = true;
    });
    for (let i = 0; i < MESSAGES && !gone; i += BURST) await burst(slow, `slow2-${i}`, BURST);
    // It never reads: the gateway ends the closing handshake after closeTimeoutMs.
    await waitFor(() => cutOff(disconnects), 'the slow cli to be cut off', 90_000);
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
