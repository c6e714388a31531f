import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { PROTOCOL_V2 } from '@mpc-relay/protocol';
import { describe, expect, it } from 'vitest';
import { DRAIN_BATCH, drainInbox } from '../src/delivery/drain.js';
import type { Poster } from '../src/delivery/types.js';
import { documentStore } from '../src/store/client.js';
import { inboxItem, putInboxItem, readInbox } from '../src/store/inbox.js';
import { KEY } from '../src/store/keys.js';
import { CLI, fullSig, MPC, partialSig } from './helpers/frames.js';
import { TABLE_NAME, useHarness } from './helpers/harness.js';

const V2 = { headers: { 'Sec-WebSocket-Protocol': PROTOCOL_V2 } };
const body = (result: { body?: string }) => JSON.parse(result.body ?? '{}');
const withId = <T extends object>(frame: T, clientMsgId: string) => ({ ...frame, clientMsgId });

describe('drains write as they go; EXPIRED reaches an offline v2 sender; expiry to the millisecond', () => {
  const harness = useHarness();
  const table = () => ({ db: documentStore(harness.dynalite.client), tableName: TABLE_NAME });

  /** Moves a waiting message's expiry into the past (TTL deletes late: reads must not deliver it). */
  async function expire(pk: string): Promise<void> {
    for (const item of await harness.inbox(pk)) {
      await harness.docs.send(
        new UpdateCommand({
          TableName: TABLE_NAME,
          Key: { pk: item.pk, sk: item.sk },
          UpdateExpression: 'SET expiresAt = :s, expiresAtMs = :ms',
          ExpressionAttributeValues: { ':s': Math.floor(Date.now() / 1000) - 1, ':ms': Date.now() - 1 },
        }),
      );
    }
  }

  // 70 sends, each a few DynamoDB round trips, then the drains: 10 s at load 10, over the suite's
  // 20 s default at load 17, hence its own timeout.
  it('a drain that dies midway leaves at most one batch of delivered messages to deliver again', async () => {
    const mpc = await harness.relay.connect(MPC);
    const ids = Array.from({ length: 70 }, (_, i) => `tx-${String(i).padStart(2, '0')}`);
    for (const tx of ids) await mpc.send(partialSig(MPC.id, CLI.id, tx));
    const posted: string[] = [];
    const crashAt = 60;
    // The process dies while posting the 61st: whatever the drain did not write yet is undone.
    const poster: Poster = {
      endpoint: 'http://crash.invalid',
      async post(_connectionId, frame) {
        if (posted.length === crashAt) throw new Error('the handler died here');
        posted.push(JSON.parse(frame).message.transactionId);
        return { status: 'ok' };
      },
      async close() {
        return { status: 'ok' };
      },
    };
    await expect(drainInbox(table(), poster, CLI, 'conn-crash')).rejects.toThrow('the handler died here');
    expect(posted).toEqual(ids.slice(0, crashAt));
    const left = (await readInbox(table(), CLI)).live.map(
      (item) => JSON.parse(item.frame ?? '').message.transactionId,
    );
    // Everything after the crash is still there, and of what was posted at most one batch.
    expect(left.slice(-(ids.length - crashAt))).toEqual(ids.slice(crashAt));
    const again = left.length - (ids.length - crashAt);
    expect(again).toBeGreaterThan(0);
    expect(again).toBeLessThanOrEqual(DRAIN_BATCH);
    // The next connection gets the rest; the repeats are that one batch.
    const cli = await harness.relay.connect(CLI);
    await cli.send({ action: 'getConnectionId' });
    expect(cli.received().map((frame) => JSON.parse(frame).message.transactionId)).toEqual(left);
    expect(await harness.inbox(KEY.inbox(CLI))).toEqual([]);
  }, 90_000);

  it('EXPIRED for a v2 sender that was offline: kept and reported at its reconnect, once; "undelivered"', async () => {
    const mpc = await harness.relay.connect(MPC, V2);
    expect(body(await mpc.send(withId(partialSig(MPC.id, CLI.id), 'c-off')))).toMatchObject({
      ack: { status: 'stored' },
    });
    await mpc.disconnect();
    await expire(KEY.inbox(CLI));
    const cli = await harness.relay.connect(CLI, V2);
    await cli.send({ action: 'getConnectionId', v: 2 });
    expect(cli.received()).toEqual([]);
    const back = await harness.relay.connect(MPC, V2);
    await back.send({ action: 'getConnectionId', v: 2 });
    const frames = back.received().map((text) => JSON.parse(text));
    expect(frames).toEqual([
      {
        error: {
          code: 'EXPIRED',
          message: expect.stringMatching(
            new RegExp(`expired undelivered: cli ${CLI.id} did not connect before it expired$`),
          ),
          action: 'sendServer',
          clientMsgId: 'c-off',
        },
      },
    ]);
    // Once: the next connection of the sender hears nothing more.
    await back.disconnect();
    const again = await harness.relay.connect(MPC, V2);
    await again.send({ action: 'getConnectionId', v: 2 });
    await again.send({ action: 'ping', v: 2 });
    expect(again.received().filter((text) => text.includes('EXPIRED'))).toEqual([]);
  });

  it('EXPIRED for a v2 sender back as v1: not posted to the v1 connection (v1 has no such frame), kept for its next v2 one', async () => {
    const mpc = await harness.relay.connect(MPC, V2);
    expect(body(await mpc.send(withId(partialSig(MPC.id, CLI.id, 'tx-gone'), 'c-v1')))).toMatchObject({
      ack: { status: 'stored' },
    });
    await mpc.disconnect();
    await expire(KEY.inbox(CLI));
    const cli = await harness.relay.connect(CLI);
    await cli.send({ action: 'getConnectionId' });
    expect(cli.received()).toEqual([]);
    // The sender is back, speaking v1: its getConnectionId drains its inbox, where the notice waits.
    const v1 = await harness.relay.connect(MPC);
    await v1.send({ action: 'getConnectionId' });
    await v1.send(partialSig(MPC.id, CLI.id, 'tx-next'));
    expect(cli.received().map((text) => JSON.parse(text).message.transactionId)).toEqual(['tx-next']);
    await cli.send(fullSig(CLI.id, 'tx-next'));
    // The first and only frame the v1 connection gets is the FullSig of its next exchange: the
    // notice, due at its getConnectionId, was not posted to it.
    expect(v1.received().map((text) => JSON.parse(text))).toEqual([
      expect.objectContaining({ operationType: 'FullSig', from: CLI.id, to: MPC.id }),
    ]);
    expect((await harness.inbox(KEY.inbox(MPC))).filter((item) => item.notice)).toHaveLength(1);
    await v1.disconnect();
    const v2 = await harness.relay.connect(MPC, V2);
    await v2.send({ action: 'getConnectionId', v: 2 });
    expect(v2.received().map((text) => JSON.parse(text).error)).toEqual([
      expect.objectContaining({ code: 'EXPIRED', clientMsgId: 'c-v1' }),
    ]);
    expect((await harness.inbox(KEY.inbox(MPC))).filter((item) => item.notice)).toEqual([]);
  });

  it("a v1 sender's expired message is deleted, never reported: it gave no id to name it by", async () => {
    const mpc = await harness.relay.connect(MPC);
    await mpc.send(partialSig(MPC.id, CLI.id, 'tx-v1-gone'));
    await mpc.disconnect();
    await expire(KEY.inbox(CLI));
    const cli = await harness.relay.connect(CLI);
    await cli.send({ action: 'getConnectionId' });
    expect(cli.received()).toEqual([]);
    expect(await harness.inbox(KEY.inbox(CLI))).toEqual([]);
    // Nothing waits for the sender either, whichever protocol it comes back with.
    expect(await harness.inbox(KEY.inbox(MPC))).toEqual([]);
    const back = await harness.relay.connect(MPC, V2);
    await back.send({ action: 'getConnectionId', v: 2 });
    expect(back.received()).toEqual([]);
  });

  it('EXPIRED of a message that was delivered but not acknowledged says so', async () => {
    const cli = await harness.relay.connect(CLI, V2);
    await cli.send({ action: 'getConnectionId', v: 2 });
    const mpc = await harness.relay.connect(MPC, V2);
    expect(body(await mpc.send(withId(partialSig(MPC.id, CLI.id), 'c-unacked')))).toMatchObject({
      ack: { status: 'delivered' },
    });
    expect(cli.received()).toHaveLength(1);
    await cli.disconnect();
    await expire(KEY.inbox(CLI));
    const back = await harness.relay.connect(CLI, V2);
    await back.send({ action: 'getConnectionId', v: 2 });
    expect(back.received()).toEqual([]);
    expect(mpc.received().map((text) => JSON.parse(text).error?.message)).toEqual([
      expect.stringMatching(
        new RegExp(`expired unacknowledged: it was delivered to cli ${CLI.id}, which did not acknowledge it`),
      ),
    ]);
  });

  it('expiry compares milliseconds: a message is live until its exact expiry, not the second before', async () => {
    const storedAt = 1_700_000_000_999;
    const item = inboxItem(
      CLI,
      MPC,
      { frame: '{"operationType":"PartialSig"}', from: MPC.id, operationType: 'PartialSig', size: 30 },
      60,
      storedAt,
    );
    expect(item.expiresAtMs).toBe(storedAt + 60_000);
    expect(item.expiresAt).toBe(Math.ceil((storedAt + 60_000) / 1000));
    await putInboxItem(table(), item);
    // 0.9 s before its expiry: whole seconds would call it expired already (1_700_000_060 <= now's second).
    const early = await readInbox(table(), CLI, storedAt + 60_000 - 900);
    expect(early.live.map((i) => i.sk)).toEqual([item.sk]);
    const late = await readInbox(table(), CLI, storedAt + 60_000);
    expect(late.expired.map((i) => i.sk)).toEqual([item.sk]);
  });
});
