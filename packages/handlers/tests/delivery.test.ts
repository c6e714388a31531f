import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { ErrorCode } from '@mpc-relay/protocol';
import { describe, expect, it } from 'vitest';
import { epochSeconds } from '../src/config.js';
import { inboxSortKey, KEY } from '../src/store/keys.js';
import { CLI, expectErrorFrame, fullSig, MPC, partialSig } from './helpers/frames.js';
import { TABLE_NAME, useHarness } from './helpers/harness.js';

describe('delivery: offline peers, stale connections, expiry, several connections', () => {
  const harness = useHarness();

  it('keeps messages for an offline cli and delivers them in order at its getConnectionId', async () => {
    const mpc = await harness.relay.connect(MPC);
    for (const tx of ['tx-1', 'tx-2', 'tx-3']) {
      expect(await mpc.send(partialSig(MPC.id, CLI.id, tx))).toEqual({ statusCode: 200 });
    }
    const waiting = await harness.inbox(KEY.inbox(CLI));
    expect(waiting).toHaveLength(3);
    expect(waiting[0]).toMatchObject({ from: MPC.id, operationType: 'PartialSig' });
    expect(harness.management.posts).toEqual([]);

    const cli = await harness.relay.connect(CLI);
    expect(cli.received()).toEqual([]); // nothing can be posted during $connect
    const answer = await cli.send({ action: 'getConnectionId' });
    expect(answer.body).toBe(JSON.stringify({ connectionId: cli.connectionId }));
    expect(cli.received().map((frame) => JSON.parse(frame).message.transactionId)).toEqual([
      'tx-1',
      'tx-2',
      'tx-3',
    ]);
    expect(JSON.parse(cli.received()[0] ?? '')).toEqual({
      operationType: 'PartialSig',
      from: MPC.id,
      message: { accountHash: 'acc', teamId: 'team', transactionId: 'tx-1', partialSig: 'ps-tx-1' },
    });
    expect(await harness.inbox(KEY.inbox(CLI))).toEqual([]);

    // Delivered once: a second getConnectionId delivers nothing more.
    await cli.send({ action: 'getConnectionId' });
    expect(cli.received()).toHaveLength(3);
    // And the mapping was recorded while the cli was away: it can answer.
    expect(await cli.send(fullSig(CLI.id, 'tx-3'))).toEqual({ statusCode: 200 });
    expect(mpc.received()).toHaveLength(1);
  });

  it('delivers a backlog larger than one BatchWriteItem (25) in order and deletes all of it', async () => {
    const mpc = await harness.relay.connect(MPC);
    const ids = Array.from({ length: 30 }, (_, index) => `tx-${String(index).padStart(2, '0')}`);
    for (const tx of ids) await mpc.send(partialSig(MPC.id, CLI.id, tx));
    const cli = await harness.relay.connect(CLI);
    await cli.send({ action: 'getConnectionId' });
    expect(cli.received().map((frame) => JSON.parse(frame).message.transactionId)).toEqual(ids);
    expect(await harness.inbox(KEY.inbox(CLI))).toEqual([]);
  });

  it('keeps the backlog when the draining connection turns out gone', async () => {
    const mpc = await harness.relay.connect(MPC);
    await mpc.send(partialSig(MPC.id, CLI.id, 'kept-1'));
    await mpc.send(partialSig(MPC.id, CLI.id, 'kept-2'));
    const flaky = await harness.relay.connect(CLI);
    harness.management.gone.add(flaky.connectionId);
    expect((await flaky.send({ action: 'getConnectionId' })).statusCode).toBe(200);
    expect(await harness.inbox(KEY.inbox(CLI))).toHaveLength(2);
    const back = await harness.relay.connect(CLI);
    await back.send({ action: 'getConnectionId' });
    expect(back.received().map((frame) => JSON.parse(frame).message.transactionId)).toEqual([
      'kept-1',
      'kept-2',
    ]);
  });

  it('keeps a cli reply for an offline mpc and delivers it when the mpc is back', async () => {
    const mpc = await harness.relay.connect(MPC);
    const cli = await harness.relay.connect(CLI);
    await mpc.send(partialSig(MPC.id, CLI.id));
    await mpc.disconnect();
    expect(await cli.send(fullSig(CLI.id))).toEqual({ statusCode: 200 });
    expect(await harness.inbox(KEY.inbox(MPC))).toHaveLength(1);
    const back = await harness.relay.connect(MPC);
    await back.send({ action: 'getConnectionId' });
    expect(back.received().map((frame) => JSON.parse(frame))).toEqual([
      expect.objectContaining({ operationType: 'FullSig', from: CLI.id, to: MPC.id }),
    ]);
  });

  it('treats a 410 as stale: deletes the connection, keeps the message, delivers on return', async () => {
    const cli = await harness.relay.connect(CLI);
    const mpc = await harness.relay.connect(MPC);
    harness.management.gone.add(cli.connectionId); // the cli vanished without a $disconnect
    expect(await mpc.send(partialSig(MPC.id, CLI.id, 'tx-stale'))).toEqual({ statusCode: 200 });
    expect(await harness.items(KEY.peer(CLI))).toEqual([]);
    expect(await harness.inbox(KEY.inbox(CLI))).toHaveLength(1);

    const back = await harness.relay.connect(CLI);
    await back.send({ action: 'getConnectionId' });
    expect(back.received().map((frame) => JSON.parse(frame).message.transactionId)).toEqual(['tx-stale']);
    expect(await harness.inbox(KEY.inbox(CLI))).toEqual([]);
  });

  it('delivers to the live connection and removes the stale one when a peer has both', async () => {
    const stale = await harness.relay.connect(CLI);
    const live = await harness.relay.connect(CLI);
    const mpc = await harness.relay.connect(MPC);
    harness.management.gone.add(stale.connectionId);
    await mpc.send(partialSig(MPC.id, CLI.id));
    expect(live.received()).toHaveLength(1);
    expect((await harness.items(KEY.peer(CLI))).map((item) => item.connectionId)).toEqual([
      live.connectionId,
    ]);
    expect(await harness.inbox(KEY.inbox(CLI))).toEqual([]);
  });

  it('delivers to every connection of a peer; a disconnect keeps the others', async () => {
    const first = await harness.relay.connect(CLI);
    const second = await harness.relay.connect(CLI);
    const mpc = await harness.relay.connect(MPC);
    await mpc.send(partialSig(MPC.id, CLI.id, 'tx-both'));
    expect(first.received()).toHaveLength(1);
    expect(second.received()).toEqual(first.received());

    await first.disconnect();
    expect((await harness.items(KEY.peer(CLI))).map((item) => item.connectionId)).toEqual([
      second.connectionId,
    ]);
    await mpc.send(partialSig(MPC.id, CLI.id, 'tx-second'));
    expect(first.received()).toHaveLength(1);
    expect(second.received().map((frame) => JSON.parse(frame).message.transactionId)).toEqual([
      'tx-both',
      'tx-second',
    ]);
  });

  it('never delivers inbox items past expiresAt (TTL deletes late) and removes them', async () => {
    const now = Date.now();
    const frame = (tx: string) =>
      JSON.stringify({ operationType: 'PartialSig', from: MPC.id, message: { transactionId: tx } });
    const put = (tx: string, expiresAt: number, at: number) =>
      harness.docs.send(
        new PutCommand({
          TableName: TABLE_NAME,
          Item: {
            pk: KEY.inbox(CLI),
            sk: inboxSortKey(at),
            frame: frame(tx),
            from: MPC.id,
            operationType: 'PartialSig',
            size: frame(tx).length,
            storedAt: at,
            expiresAt,
          },
        }),
      );
    await put('expired', epochSeconds(now) - 5, now - 400_000);
    await put('live', epochSeconds(now) + 300, now);
    const cli = await harness.relay.connect(CLI);
    await cli.send({ action: 'getConnectionId' });
    expect(cli.received().map((text) => JSON.parse(text).message.transactionId)).toEqual(['live']);
    expect(await harness.inbox(KEY.inbox(CLI))).toEqual([]);
  });

  it('answers NO_MAPPING when the conversation expired (even if TTL has not deleted it yet)', async () => {
    const mpc = await harness.relay.connect(MPC);
    const cli = await harness.relay.connect(CLI);
    await harness.docs.send(
      new PutCommand({
        TableName: TABLE_NAME,
        Item: {
          pk: KEY.mapping(CLI.id),
          sk: KEY.conversationSort('tx-1'),
          key: 'tx-1',
          cliId: CLI.id,
          mpcId: MPC.id,
          updatedAt: Date.now() - 7_200_000,
          expiresAt: epochSeconds() - 1,
        },
      }),
    );
    const error = expectErrorFrame(await cli.send(fullSig(CLI.id)), ErrorCode.NoMapping);
    expect(error.message).toContain('expired');
    expect(mpc.received()).toEqual([]);
  });

  it('ignores expired connection records (TTL deletes late): the message waits in the inbox', async () => {
    const mpc = await harness.relay.connect(MPC);
    await harness.docs.send(
      new PutCommand({
        TableName: TABLE_NAME,
        Item: {
          pk: KEY.peer(CLI),
          sk: KEY.connection('OldConnXXXXXXX='),
          connectionId: 'OldConnXXXXXXX=',
          peerType: 'cli',
          peerId: CLI.id,
          connectedAt: Date.now() - 8_000_000,
          expiresAt: epochSeconds() - 1,
          protocol: 'v1',
          gsi1pk: KEY.connectionsOfType('cli'),
          gsi1sk: 'OldConnXXXXXXX=',
        },
      }),
    );
    await mpc.send(partialSig(MPC.id, CLI.id));
    expect(harness.management.posts).toEqual([]);
    expect(await harness.inbox(KEY.inbox(CLI))).toHaveLength(1);
  });

  it('stores the mapping with MAPPING_TTL_SECONDS and inbox items with INBOX_TTL_SECONDS', async () => {
    process.env.MAPPING_TTL_SECONDS = '60';
    process.env.INBOX_TTL_SECONDS = '30';
    try {
      const mpc = await harness.relay.connect(MPC);
      const before = epochSeconds();
      await mpc.send(partialSig(MPC.id, CLI.id));
      const after = epochSeconds();
      const [mapping] = await harness.items(KEY.mapping(CLI.id));
      const [waiting] = await harness.inbox(KEY.inbox(CLI));
      expect(mapping?.expiresAt).toBeGreaterThanOrEqual(before + 60);
      expect(mapping?.expiresAt).toBeLessThanOrEqual(after + 60);
      expect(waiting?.expiresAt).toBeGreaterThanOrEqual(before + 30);
      // The TTL attribute is the exact expiry (expiresAtMs) rounded up to the second.
      expect(waiting?.expiresAt).toBeLessThanOrEqual(after + 31);
      expect(waiting?.expiresAtMs).toBeGreaterThanOrEqual(before * 1000 + 30_000);
      expect(waiting?.expiresAtMs).toBeLessThanOrEqual((after + 1) * 1000 + 30_000);
    } finally {
      delete process.env.MAPPING_TTL_SECONDS;
      delete process.env.INBOX_TTL_SECONDS;
    }
  });
});
