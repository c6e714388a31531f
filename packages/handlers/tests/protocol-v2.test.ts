import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { decodeRelayFrame, PROTOCOL_V2 } from '@mpc-relay/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { epochSeconds } from '../src/config.js';
import { type DocumentStore, documentClient } from '../src/store/client.js';
import { countRequests } from '../src/store/request-counter.js';
import { CLI, fullSig, MPC, partialSig } from './helpers/frames.js';
import { startHarness, TABLE_NAME, useHarness } from './helpers/harness.js';
import type { TestClient } from './helpers/relay.js';

const V2 = { headers: { 'Sec-WebSocket-Protocol': PROTOCOL_V2 } };

const withId = <T extends object>(frame: T, clientMsgId: string) => ({ ...frame, clientMsgId });
const parsed = (frames: string[]) => frames.map((text) => JSON.parse(text) as Record<string, unknown>);
const body = (result: { body?: string }) => JSON.parse(result.body ?? 'null') as Record<string, unknown>;

describe('protocol v2 (handlers, dynalite, fake management API)', () => {
  const env = { ...process.env };
  const harness = useHarness();
  afterEach(() => {
    for (const key of ['REDELIVERY_DELAY_SECONDS', 'DEDUPE_TTL_SECONDS']) {
      if (env[key] === undefined) delete process.env[key];
      else process.env[key] = env[key];
    }
  });

  async function inbox(peer: { type: string; id: string }) {
    return harness.inbox(`INBOX#${peer.type}#${peer.id}`);
  }

  it('v2 pair: envelope to the receiver, ack result to the sender, kept until acked', async () => {
    const cli = await harness.relay.connect(CLI, V2);
    const mpc = await harness.relay.connect(MPC, V2);
    const sent = await mpc.send(withId(partialSig(MPC.id, CLI.id), 'c-1'));
    const ack = body(sent) as { ack: { clientMsgId: string; messageId: string; status: string } };
    expect(ack).toEqual({ ack: { clientMsgId: 'c-1', messageId: expect.any(String), status: 'delivered' } });
    const [delivery] = parsed(cli.received());
    expect(delivery).toEqual({
      ...{ operationType: 'PartialSig', from: MPC.id, message: partialSig(MPC.id, CLI.id).message },
      messageId: ack.ack.messageId,
      clientMsgId: 'c-1',
      sentAt: expect.any(Number),
    });
    const decoded = decodeRelayFrame(cli.received()[0] ?? '');
    expect(decoded.ok && decoded.value.kind).toBe('v2Delivery');
    // Stored until acknowledged.
    expect((await inbox(CLI)).filter((item) => item.frame)).toHaveLength(1);
    expect(await cli.send({ action: 'ack', messageIds: [ack.ack.messageId] })).toEqual({ statusCode: 200 });
    const left = await inbox(CLI);
    expect(left.filter((item) => item.frame)).toHaveLength(0);
    // A dedupe marker (no payload) remains.
    expect(left).toHaveLength(1);
    expect(left[0]).not.toHaveProperty('frame');
    // Reply cli -> mpc: the mpc gets the envelope with `to`.
    const reply = body(await cli.send(withId(fullSig(CLI.id), 'r-1')));
    expect(reply).toMatchObject({ ack: { clientMsgId: 'r-1', status: 'delivered' } });
    expect(parsed(mpc.received())).toEqual([
      expect.objectContaining({ operationType: 'FullSig', from: CLI.id, to: MPC.id, clientMsgId: 'r-1' }),
    ]);
  });

  it('a duplicate clientMsgId is suppressed: status duplicate, same messageId, delivered once (also after the ack)', async () => {
    const cli = await harness.relay.connect(CLI, V2);
    const mpc = await harness.relay.connect(MPC, V2);
    const first = body(await mpc.send(withId(partialSig(MPC.id, CLI.id), 'c-dup')));
    const again = body(await mpc.send(withId(partialSig(MPC.id, CLI.id), 'c-dup')));
    const firstAck = first.ack as { messageId: string };
    expect(again).toEqual({
      ack: { clientMsgId: 'c-dup', messageId: firstAck.messageId, status: 'duplicate' },
    });
    expect(cli.received()).toHaveLength(1);
    await cli.send({ action: 'ack', messageIds: [firstAck.messageId] });
    const late = body(await mpc.send(withId(partialSig(MPC.id, CLI.id), 'c-dup')));
    expect(late).toMatchObject({ ack: { status: 'duplicate', messageId: firstAck.messageId } });
    expect(cli.received()).toHaveLength(1);
    // Another id is a new message.
    expect(body(await mpc.send(withId(partialSig(MPC.id, CLI.id), 'c-other')))).toMatchObject({
      ack: { status: 'delivered' },
    });
    expect(cli.received()).toHaveLength(2);
  });

  it('duplicates of a stored message (receiver offline) are suppressed too; reconnect delivers it once', async () => {
    const mpc = await harness.relay.connect(MPC, V2);
    expect(body(await mpc.send(withId(partialSig(MPC.id, CLI.id), 'c-off')))).toMatchObject({
      ack: { status: 'stored' },
    });
    expect(body(await mpc.send(withId(partialSig(MPC.id, CLI.id), 'c-off')))).toMatchObject({
      ack: { status: 'duplicate' },
    });
    const cli = await harness.relay.connect(CLI, V2);
    await cli.send({ action: 'getConnectionId', v: 2 });
    const frames = parsed(cli.received());
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ clientMsgId: 'c-off', messageId: expect.any(String) });
  });

  it('unacked messages: redelivered in order on reconnect; on the next ping only after the delay', async () => {
    process.env.REDELIVERY_DELAY_SECONDS = '3600';
    const mpc = await harness.relay.connect(MPC, V2);
    const first = await harness.relay.connect(CLI, V2);
    for (const n of [1, 2, 3]) await mpc.send(withId(partialSig(MPC.id, CLI.id, `tx-${n}`), `c-${n}`));
    expect(first.received()).toHaveLength(3);
    // Delivered less than the delay ago: a ping does not resend them.
    await first.send({ action: 'ping', v: 2 });
    expect(first.received()).toHaveLength(3);
    const ids = parsed(first.received()).map((frame) => frame.messageId as string);
    await first.send({ action: 'ack', messageIds: [ids[1] ?? ''] });

    // Reconnect: every unacknowledged one again, in order, whatever the delay.
    const second = await harness.relay.connect(CLI, V2);
    await second.send({ action: 'getConnectionId', v: 2 });
    expect(parsed(second.received()).map((frame) => frame.clientMsgId)).toEqual(['c-1', 'c-3']);
    expect(parsed(second.received()).map((frame) => frame.messageId)).toEqual([ids[0], ids[2]]);

    // Delay passed (0): a sendServer by the receiver does NOT look at its own inbox (it stays at
    // 3 DynamoDB requests); its next v2 ping resends them.
    process.env.REDELIVERY_DELAY_SECONDS = '0';
    expect(body(await second.send(withId(fullSig(CLI.id), 'r-1')))).toMatchObject({
      ack: { clientMsgId: 'r-1', status: 'delivered' },
    });
    expect(second.received()).toHaveLength(2);
    await second.send({ action: 'ping', v: 2 });
    expect(parsed(second.received()).map((frame) => frame.clientMsgId)).toEqual(['c-1', 'c-3', 'c-1', 'c-3']);
    await second.send({ action: 'ping', v: 2 });
    expect(second.received()).toHaveLength(6);
    await second.send({ action: 'ack', messageIds: [ids[0] ?? '', ids[2] ?? ''] });
    await second.send({ action: 'ping', v: 2 });
    expect(second.received()).toHaveLength(6);
    // v1 pings never touch the inbox.
    const v1Ping = await countRequests(() => second.send({ action: 'ping' }));
    expect(v1Ping.requests.total).toBe(0);
  });

  it('mixed pairs: v1 clients see exactly the original demo shapes, v2 clients get envelopes, both ways', async () => {
    // v1 mpc -> v2 cli, v2 cli -> v1 mpc
    const cli = await harness.relay.connect(CLI, V2);
    const mpc = await harness.relay.connect(MPC);
    const v1Send = await mpc.send(partialSig(MPC.id, CLI.id));
    expect(v1Send).toEqual({ statusCode: 200 });
    const [envelope] = parsed(cli.received());
    expect(Object.keys(envelope ?? {})).toEqual(['operationType', 'from', 'message', 'messageId', 'sentAt']);
    expect(body(await cli.send(withId(fullSig(CLI.id), 'r-1')))).toMatchObject({
      ack: { clientMsgId: 'r-1', status: 'delivered' },
    });
    expect(mpc.received()).toEqual([
      JSON.stringify({
        operationType: 'FullSig',
        from: CLI.id,
        to: MPC.id,
        message: fullSig(CLI.id).message,
      }),
    ]);
    // The original demo receiver's message left only a dedupe marker: its next drain delivers nothing more.
    await mpc.send({ action: 'getConnectionId' });
    expect(mpc.received()).toHaveLength(1);
    // The v2 cli acks the original demo sender's message (deleted outright).
    await cli.send({ action: 'ack', messageIds: [String(envelope?.messageId)] });
    expect(await inbox(CLI)).toHaveLength(0);

    // v2 mpc -> v1 cli, v1 cli -> v2 mpc
    await harness.reset();
    const v1Cli = await harness.relay.connect(CLI);
    const v2Mpc = await harness.relay.connect(MPC, V2);
    expect(body(await v2Mpc.send(withId(partialSig(MPC.id, CLI.id), 'c-9')))).toMatchObject({
      ack: { status: 'delivered' },
    });
    expect(v1Cli.received()).toEqual([
      JSON.stringify({
        operationType: 'PartialSig',
        from: MPC.id,
        message: partialSig(MPC.id, CLI.id).message,
      }),
    ]);
    expect(await v1Cli.send(fullSig(CLI.id))).toEqual({ statusCode: 200 });
    expect(Object.keys(parsed(v2Mpc.received())[0] ?? {})).toEqual([
      'operationType',
      'from',
      'to',
      'message',
      'messageId',
      'sentAt',
    ]);
    // v1 getConnectionId and ping answers are unchanged.
    expect(body(await v1Cli.send({ action: 'getConnectionId' }))).toEqual({
      connectionId: v1Cli.connectionId,
    });
  });

  it('a message that expired unacknowledged is logged, deleted, and reported EXPIRED to its connected v2 sender', async () => {
    const mpc = await harness.relay.connect(MPC, V2);
    const v1Mpc = await harness.relay.connect(MPC);
    const stored = body(await mpc.send(withId(partialSig(MPC.id, CLI.id), 'c-exp')));
    expect(stored).toMatchObject({ ack: { status: 'stored' } });
    const [item] = await inbox(CLI);
    await harness.docs.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: { pk: item?.pk, sk: item?.sk },
        UpdateExpression: 'SET expiresAt = :past, expiresAtMs = :pastMs',
        ExpressionAttributeValues: { ':past': epochSeconds() - 1, ':pastMs': Date.now() - 1 },
      }),
    );
    const cli = await harness.relay.connect(CLI, V2);
    await cli.send({ action: 'getConnectionId', v: 2 });
    expect(cli.received()).toHaveLength(0);
    expect(parsed(mpc.received())).toEqual([
      {
        error: {
          code: 'EXPIRED',
          message: expect.stringContaining(
            `expired undelivered: cli ${CLI.id} did not connect before it expired`,
          ),
          action: 'sendServer',
          clientMsgId: 'c-exp',
        },
      },
    ]);
    // The same peer's v1 connection gets no unsolicited frame.
    expect(v1Mpc.received()).toHaveLength(0);
    expect(await inbox(CLI)).toHaveLength(0);
  });

  describe('the reconnect race: a send stored while the target reconnects reaches the new connection', () => {
    // The handlers' store for this endpoint: its `send` is wrapped for the interleaving (its
    // client caches each command's middleware stack, so a middleware added now would not run).
    const store = () => documentClient(process.env.DYNAMODB_ENDPOINT, process.env.AWS_REGION);
    let unwrapped: DocumentStore['send'] | undefined;
    afterEach(() => {
      if (unwrapped) store().send = unwrapped;
      unwrapped = undefined;
    });

    /** Runs `interleave` once, right before the first inbox item is written (forced interleaving). */
    function beforeInboxWrite(interleave: () => Promise<void>) {
      let fired = false;
      const send = store().send;
      unwrapped = send;
      store().send = (async (command: Parameters<DocumentStore['send']>[0]) => {
        const pk = (command.input as { Item?: { pk?: unknown } }).Item?.pk;
        if (!fired && command instanceof PutCommand && typeof pk === 'string' && pk.startsWith('INBOX#')) {
          fired = true;
          await interleave();
        }
        return send(command as never);
      }) as DocumentStore['send'];
    }

    for (const protocol of ['v1', 'v2'] as const) {
      it(`${protocol} clients: the old connection answers 410, the new one drained an empty inbox before the store`, async () => {
        const options = protocol === 'v2' ? V2 : {};
        const mpc = await harness.relay.connect(MPC, options);
        const old = await harness.relay.connect(CLI, options);
        harness.management.gone.add(old.connectionId);
        let fresh: TestClient | undefined;
        beforeInboxWrite(async () => {
          // The cli reconnects and asks for its connection id while the mpc's send is in flight.
          fresh = await harness.relay.connect(CLI, options);
          await fresh.send(
            protocol === 'v2' ? { action: 'getConnectionId', v: 2 } : { action: 'getConnectionId' },
          );
        });
        const frame = partialSig(MPC.id, CLI.id, 'race');
        const result = await mpc.send(protocol === 'v2' ? withId(frame, 'c-race') : frame);
        if (protocol === 'v2') expect(body(result)).toMatchObject({ ack: { status: 'stored' } });
        else expect(result).toEqual({ statusCode: 200 });
        expect(fresh).toBeDefined();
        const received = parsed(fresh?.received() ?? []);
        expect(received).toHaveLength(1);
        expect(received[0]).toMatchObject({
          operationType: 'PartialSig',
          message: { transactionId: 'race' },
        });
        if (protocol === 'v1')
          expect(Object.keys(received[0] ?? {})).toEqual(['operationType', 'from', 'message']);
        else expect(received[0]).toMatchObject({ clientMsgId: 'c-race' });
        // v1: delivered means deleted; v2: kept until acknowledged.
        expect((await inbox(CLI)).filter((item) => item.frame)).toHaveLength(protocol === 'v1' ? 0 : 1);
      });
    }
  });

  it('DynamoDB requests per case', async () => {
    const cli = await harness.relay.connect(CLI, V2);
    const mpc = await harness.relay.connect(MPC, V2);
    // v2 mpc -> v2 cli online: PutItem conversation + Query connections + conditional PutItem of
    // the message (one round trip). No Query of the sender's own inbox any more.
    const toCli = await countRequests(() => mpc.send(withId(partialSig(MPC.id, CLI.id), 'k-1')));
    expect(toCli.requests).toEqual({ total: 3, byCommand: { PutItem: 2, Query: 1 } });
    // v2 cli -> v2 mpc online: GetItem conversation (it records the mpc's connection), then the
    // conditional PutItem, then the post.
    const toMpc = await countRequests(() => cli.send(withId(fullSig(CLI.id), 'k-2')));
    expect(toMpc.requests).toEqual({ total: 2, byCommand: { GetItem: 1, PutItem: 1 } });
    // Duplicate: the same requests and one GetItem, nothing posted.
    const duplicate = await countRequests(() => mpc.send(withId(partialSig(MPC.id, CLI.id), 'k-1')));
    expect(duplicate.requests).toEqual({ total: 4, byCommand: { GetItem: 1, PutItem: 2, Query: 1 } });
    expect(cli.received()).toHaveLength(1);
    // A v2 sender with unacknowledged messages of its own: its sendServer still costs 3 (the
    // redelivery check runs on its v2 ping, not on its sends).
    process.env.REDELIVERY_DELAY_SECONDS = '0';
    const withBacklog = await countRequests(() => mpc.send(withId(partialSig(MPC.id, CLI.id), 'k-4')));
    expect(withBacklog.requests).toEqual({ total: 3, byCommand: { PutItem: 2, Query: 1 } });
    expect(mpc.received()).toHaveLength(1);
    process.env.REDELIVERY_DELAY_SECONDS = '3600';
    // ack: 1 BatchWriteItem per 25 ids.
    const ids = parsed(cli.received()).map((frame) => String(frame.messageId));
    const ack = await countRequests(() => cli.send({ action: 'ack', messageIds: ids }));
    expect(ack.requests).toEqual({ total: 1, byCommand: { BatchWriteItem: 1 } });
    // v2 ping with nothing to resend: 1 Query.
    const ping = await countRequests(() => cli.send({ action: 'ping', v: 2 }));
    expect(ping.requests).toEqual({ total: 1, byCommand: { Query: 1 } });
    // v2 getConnectionId with nothing waiting: 1 Query.
    const hello = await countRequests(() => cli.send({ action: 'getConnectionId', v: 2 }));
    expect(hello.requests).toEqual({ total: 1, byCommand: { Query: 1 } });

    // Mixed: v1 mpc -> v2 cli: the original demo path + 1 PutItem (kept until acked).
    const v1Mpc = await harness.relay.connect({ type: 'mpc', id: 'v1-mpc' });
    const v1ToV2 = await countRequests(() => v1Mpc.send(partialSig('v1-mpc', CLI.id, 'tx-v1')));
    expect(v1ToV2.requests).toEqual({ total: 3, byCommand: { PutItem: 2, Query: 1 } });
    // v2 mpc -> v1 cli: + 1 PutItem turning the item into a dedupe marker once delivered.
    const v1Cli = await harness.relay.connect({ type: 'cli', id: 'v1-cli' });
    const v2ToV1 = await countRequests(() => mpc.send(withId(partialSig(MPC.id, 'v1-cli'), 'k-3')));
    expect(v2ToV1.requests).toEqual({ total: 4, byCommand: { PutItem: 3, Query: 1 } });
    expect(v1Cli.received()).toHaveLength(1);
    // v1 pair: unchanged (2).
    const v1Pair = await countRequests(() => v1Mpc.send(partialSig('v1-mpc', 'v1-cli', 'tx-v1pair')));
    expect(v1Pair.requests).toEqual({ total: 2, byCommand: { PutItem: 1, Query: 1 } });
  });
});

describe('protocol v2: a conditional write retried by the SDK after a lost answer', () => {
  it('is not taken for a duplicate of itself', async () => {
    const harness = await startHarness('src');
    try {
      const { putInboxItem, inboxItem } = await import('../src/store/inbox.js');
      const table = {
        db: documentClient(process.env.DYNAMODB_ENDPOINT, process.env.AWS_REGION),
        tableName: TABLE_NAME,
      };
      const item = inboxItem(
        CLI,
        MPC,
        { frame: '{}', from: MPC.id, operationType: 'Note', size: 2, clientMsgId: 'w-1' },
        60,
      );
      const first = { ...item, writeId: 'write-1' };
      expect(await putInboxItem(table, first, { ifNew: true })).toBe('written');
      // The same request again (what the SDK's retry sends): written, not a duplicate.
      expect(await putInboxItem(table, first, { ifNew: true })).toBe('written');
      // Another request with the same clientMsgId: a duplicate.
      expect(await putInboxItem(table, item, { ifNew: true })).toBe('duplicate');
    } finally {
      await harness.close();
    }
  });
});
