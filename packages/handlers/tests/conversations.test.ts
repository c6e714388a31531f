// Conversations, pairing (`peers`) and per-peer limits, through the handlers against dynalite:
// every refusal answers its error frame and leaves nothing delivered, stored or remembered.
import { ErrorCode } from '@mpc-relay/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { KEY } from '../src/store/keys.js';
import { countRequests } from '../src/store/request-counter.js';
import { expectErrorFrame, fullSig, partialSig } from './helpers/frames.js';
import { useHarness } from './helpers/harness.js';
import { TEST_SECRET, useJwtHarness } from './helpers/jwt.js';

const cli = (id = 'cli1') => ({ type: 'cli', id }) as const;
const mpc = (id: string) => ({ type: 'mpc', id }) as const;
const txOf = (frames: string[]) => frames.map((text) => JSON.parse(text).message.transactionId);
const note = (mpcId: string, cliId: string, message: unknown = {}) => ({
  action: 'sendServer',
  sourceId: mpcId,
  cliToMpc: { [cliId]: mpcId },
  operationType: 'Note',
  message,
});
const reply = (cliId: string, extra: Record<string, unknown> = {}) => ({
  action: 'sendServer',
  sourceId: cliId,
  operationType: 'Note',
  message: {},
  ...extra,
});

describe('conversations (static mode)', () => {
  const harness = useHarness();

  it('another mpc cannot capture a cli answer: CONVERSATION_TAKEN, nothing delivered or stored, the FullSig reaches its mpc', async () => {
    const signer = await harness.relay.connect(cli());
    const a = await harness.relay.connect(mpc('mpcA'));
    const evil = await harness.relay.connect(mpc('mpcEvil'));
    await a.send(partialSig('mpcA', 'cli1', 'tx1'));
    const taken = expectErrorFrame(
      await evil.send(partialSig('mpcEvil', 'cli1', 'tx1')),
      ErrorCode.ConversationTaken,
    );
    expect(taken.issues).toEqual([{ path: 'message.transactionId', message: expect.any(String) }]);
    // Writing to the cli under another key (or none) does not move tx1's conversation either.
    await evil.send(partialSig('mpcEvil', 'cli1', 'tx-evil'));
    await evil.send(note('mpcEvil', 'cli1'));
    expect(txOf(signer.received())).toEqual(['tx1', 'tx-evil', undefined]);
    expect(await signer.send(fullSig('cli1', 'tx1'))).toEqual({ statusCode: 200 });
    expect(txOf(a.received())).toEqual(['tx1']);
    expect(evil.received()).toEqual([]);
    expect(await harness.inbox(KEY.inbox(cli()))).toEqual([]);
  });

  it('before the cli connects too: the waiting message of another mpc is refused and not stored', async () => {
    const a = await harness.relay.connect(mpc('mpcA'));
    const evil = await harness.relay.connect(mpc('mpcEvil'));
    await a.send(partialSig('mpcA', 'cli1', 'tx1'));
    expectErrorFrame(await evil.send(partialSig('mpcEvil', 'cli1', 'tx1')), ErrorCode.ConversationTaken);
    expect(await harness.inbox(KEY.inbox(cli()))).toHaveLength(1);
    const signer = await harness.relay.connect(cli());
    await signer.send({ action: 'getConnectionId' });
    expect(signer.received().map((text) => JSON.parse(text).from)).toEqual(['mpcA']);
    await signer.send(fullSig('cli1', 'tx1'));
    expect(txOf(a.received())).toEqual(['tx1']);
    expect(evil.received()).toEqual([]);
  });

  it('the same mpc refreshes its conversation; keys are per cli; an unknown key answers NO_MAPPING', async () => {
    const one = await harness.relay.connect(cli('cli1'));
    const two = await harness.relay.connect(cli('cli2'));
    const a = await harness.relay.connect(mpc('mpcA'));
    const b = await harness.relay.connect(mpc('mpcB'));
    await a.send(partialSig('mpcA', 'cli1', 'tx1'));
    expect(await a.send(partialSig('mpcA', 'cli1', 'tx1'))).toEqual({ statusCode: 200 });
    expect(await b.send(partialSig('mpcB', 'cli2', 'tx1'))).toEqual({ statusCode: 200 });
    expect(one.received()).toHaveLength(2);
    await one.send(fullSig('cli1', 'tx1'));
    await two.send(fullSig('cli2', 'tx1'));
    expect(txOf(a.received())).toEqual(['tx1']);
    expect(txOf(b.received())).toEqual(['tx1']);
    const unknown = expectErrorFrame(await one.send(fullSig('cli1', 'tx-nobody')), ErrorCode.NoMapping);
    expect(unknown.message).toContain('tx-nobody');
  });

  it('sessionId: any operation type, delivered beside message, and the reply carrying it reaches that mpc', async () => {
    const signer = await harness.relay.connect(cli());
    const a = await harness.relay.connect(mpc('mpcA'));
    const b = await harness.relay.connect(mpc('mpcB'));
    await a.send({ ...note('mpcA', 'cli1', { round: 1 }), sessionId: 's-A' });
    await b.send({ ...note('mpcB', 'cli1', { round: 1 }), sessionId: 's-B' });
    expectErrorFrame(
      await b.send({ ...note('mpcB', 'cli1'), sessionId: 's-A' }),
      ErrorCode.ConversationTaken,
    );
    expect(JSON.parse(signer.received()[0] ?? '{}')).toEqual({
      operationType: 'Note',
      from: 'mpcA',
      message: { round: 1 },
      sessionId: 's-A',
    });
    await signer.send(reply('cli1', { sessionId: 's-A', message: { round: 2 } }));
    expect(a.received().map((text) => JSON.parse(text))).toEqual([
      { operationType: 'Note', from: 'cli1', to: 'mpcA', message: { round: 2 }, sessionId: 's-A' },
    ]);
    expect(b.received()).toEqual([]);
    // The sessionId wins over a transactionId in the same frame.
    await signer.send({ ...fullSig('cli1', 'tx-other'), sessionId: 's-B' });
    expect(txOf(b.received())).toEqual(['tx-other']);
  });

  it('a reply without a key goes to the mpc that last sent a message without one', async () => {
    const signer = await harness.relay.connect(cli());
    const a = await harness.relay.connect(mpc('mpcA'));
    const b = await harness.relay.connect(mpc('mpcB'));
    expectErrorFrame(await signer.send(reply('cli1')), ErrorCode.NoMapping);
    await a.send(note('mpcA', 'cli1'));
    await b.send(partialSig('mpcB', 'cli1', 'tx-b'));
    await signer.send(reply('cli1'));
    expect(a.received()).toHaveLength(1);
    expect(b.received()).toEqual([]);
    await b.send(note('mpcB', 'cli1'));
    await signer.send(reply('cli1'));
    expect(a.received()).toHaveLength(1);
    expect(b.received()).toHaveLength(1);
  });

  it('the conversation item records the mpc connection, its TTL is the mapping TTL', async () => {
    const a = await harness.relay.connect(mpc('mpcA'));
    await a.send(partialSig('mpcA', 'cli1', 'tx1'));
    const [item] = await harness.items(KEY.mapping('cli1'));
    expect(item).toMatchObject({
      sk: 'CONV#tx1',
      cliId: 'cli1',
      mpcId: 'mpcA',
      key: 'tx1',
      connections: [{ connectionId: a.connectionId, protocol: 'v1' }],
    });
    expect(Number(item?.expiresAt) - Math.floor(Number(item?.updatedAt) / 1000)).toBe(3600);
    // A key too long for a sort key is hashed.
    await a.send(partialSig('mpcA', 'cli1', 'x'.repeat(300)));
    expect((await harness.items(KEY.mapping('cli1'))).map((i) => String(i.sk).slice(0, 6))).toContain(
      'CONVH#',
    );
  });
});

describe('limits per peer', () => {
  const harness = useHarness('src', {
    INBOX_MAX_MESSAGES: '3',
    INBOX_MAX_BYTES: '2000',
    MAX_CONNECTIONS_PER_PEER: '2',
  });
  afterAll(() => {
    for (const key of ['INBOX_MAX_MESSAGES', 'INBOX_MAX_BYTES', 'MAX_CONNECTIONS_PER_PEER'])
      delete process.env[key];
  });

  it('INBOX_FULL over the waiting messages of an offline peer; what waits is untouched; a drain makes room', async () => {
    const a = await harness.relay.connect(mpc('mpcA'));
    for (const tx of ['t1', 't2', 't3'])
      expect(await a.send(partialSig('mpcA', 'cli1', tx))).toEqual({ statusCode: 200 });
    const full = expectErrorFrame(await a.send(partialSig('mpcA', 'cli1', 't4')), ErrorCode.InboxFull);
    expect(full.message).toContain('3 messages');
    // The refused message left no conversation behind: another mpc may use t4.
    expect((await harness.items(KEY.mapping('cli1'))).map((item) => item.sk)).not.toContain('CONV#t4');
    expect((await harness.inbox(KEY.inbox(cli()))).length).toBe(3);
    const signer = await harness.relay.connect(cli());
    await signer.send({ action: 'getConnectionId' });
    expect(txOf(signer.received())).toEqual(['t1', 't2', 't3']);
    await signer.disconnect();
    expect(await a.send(partialSig('mpcA', 'cli1', 't4'))).toEqual({ statusCode: 200 });
  });

  it('INBOX_FULL over the waiting bytes; a v2 sender is told so with its clientMsgId and nothing is kept', async () => {
    const a = await harness.relay.connect(mpc('mpcA'));
    const big = (tx: string) => ({
      ...partialSig('mpcA', 'cli1', tx),
      message: { ...partialSig('mpcA', 'cli1', tx).message, partialSig: 'p'.repeat(800) },
    });
    expect(await a.send(big('b1'))).toEqual({ statusCode: 200 });
    expect(await a.send(big('b2'))).toEqual({ statusCode: 200 });
    const full = expectErrorFrame(await a.send({ ...big('b3'), clientMsgId: 'c-b3' }), ErrorCode.InboxFull);
    expect(full.clientMsgId).toBe('c-b3');
    expect(txOf((await harness.inbox(KEY.inbox(cli()))).map((item) => String(item.frame)))).toEqual([
      'b1',
      'b2',
    ]);
  });

  it('MAX_CONNECTIONS_PER_PEER: the connection over it is refused at the handshake (429), the others stay', async () => {
    const first = await harness.relay.connect(cli());
    await harness.relay.connect(cli());
    await expect(harness.relay.connect(cli())).rejects.toThrow(/\$connect answered 429/);
    expect(await harness.items(KEY.peer(cli()))).toHaveLength(2);
    await first.disconnect();
    await harness.relay.connect(cli());
    const a = await harness.relay.connect(mpc('mpcA'));
    const sent = await countRequests(() => a.send(partialSig('mpcA', 'cli1', 'tx1')));
    expect(sent.requests.total).toBe(2);
  });
});

describe('pairing: the token peers claim (jwt mode)', () => {
  const { harness, connect } = useJwtHarness({ AUTH_MODE: 'jwt', JWT_SECRET: TEST_SECRET });

  it("a cli's peers: an mpc outside them is FORBIDDEN (nothing delivered, stored or mapped), online and offline", async () => {
    const a = await connect(mpc('mpcA'));
    const evil = await connect(mpc('mpcEvil'));
    // Offline cli: stored, then dropped at delivery to a connection whose token leaves mpcEvil out.
    await evil.send(partialSig('mpcEvil', 'cli1', 'tx-early'));
    const signer = await connect(cli(), { peers: ['mpcA'] });
    await signer.send({ action: 'getConnectionId' });
    expect(signer.received()).toEqual([]);
    const refused = expectErrorFrame(
      await evil.send(partialSig('mpcEvil', 'cli1', 'tx1')),
      ErrorCode.Forbidden,
    );
    expect(refused.message).toContain('peers');
    expect((await harness.items(KEY.mapping('cli1'))).map((item) => item.mpcId)).toEqual(['mpcEvil']);
    await a.send(partialSig('mpcA', 'cli1', 'tx1'));
    await signer.send(fullSig('cli1', 'tx1'));
    expect(txOf(signer.received())).toEqual(['tx1']);
    expect(txOf(a.received())).toEqual(['tx1']);
    expect(evil.received()).toEqual([]);
    expect(await harness.inbox(KEY.inbox(cli()))).toEqual([]);
  });

  it("an mpc's peers: a cli outside them is FORBIDDEN before any request", async () => {
    const a = await connect(mpc('mpcA'), { peers: ['cli1'] });
    const other = await connect(cli('cli2'));
    const refused = await countRequests(() => a.send(partialSig('mpcA', 'cli2', 'tx1')));
    expectErrorFrame(refused.result, ErrorCode.Forbidden);
    expect(refused.requests.total).toBe(0);
    expect(other.received()).toEqual([]);
    expect(await harness.items(KEY.mapping('cli2'))).toEqual([]);
  });

  it("a cli's peers also bind its replies: a route to an mpc outside them is FORBIDDEN", async () => {
    const a = await connect(mpc('mpcA'));
    await a.send(note('mpcA', 'cli1'));
    const signer = await connect(cli(), { peers: ['mpcB'] });
    expectErrorFrame(await signer.send(reply('cli1')), ErrorCode.Forbidden);
    expect(a.received()).toEqual([]);
  });

  it("an empty peers claim talks to nobody; without the claim, today's rules", async () => {
    const signer = await connect(cli(), { peers: [] });
    const a = await connect(mpc('mpcA'));
    expectErrorFrame(await a.send(partialSig('mpcA', 'cli1', 'tx1')), ErrorCode.Forbidden);
    expect(signer.received()).toEqual([]);
    const open = await connect(cli('cli2'));
    expect(await a.send(partialSig('mpcA', 'cli2', 'tx1'))).toEqual({ statusCode: 200 });
    expect(open.received()).toHaveLength(1);
  });
});
