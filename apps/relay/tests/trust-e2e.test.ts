import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Relay, startRelay } from '../src/index.js';
import { loadOrCreateJwtSecret, signToken } from '../src/jwt-secret.js';
import { fullSig, Peer, partialSig, printedToken, tempDir, tokenCommand } from './helpers.js';

// "A signature goes only to the party that asked for it", against the local relay over real
// WebSocket connections (static and jwt, with and without tenant isolation). Every refused attack
// is proven by ordering: after the refusal a legitimate message is sent to the would-be victim (or
// the attacker), and it must be the very next frame that peer gets.

// biome-ignore lint/suspicious/noExplicitAny: received frames are read field by field, each asserted
const json = async (peer: Peer) => JSON.parse(await peer.next()) as Record<string, any>;
const errorCode = async (peer: Peer) => (await json(peer)).error?.code as string | undefined;

/** The handshake's HTTP status and body (a refused upgrade), or 101. */
function handshake(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

describe('static mode', () => {
  let relay: Relay;
  let dataDir: string;
  const peers: Peer[] = [];
  const open = async (query: string, headers?: Record<string, string>) => {
    const peer = await Peer.open(relay.url, query, headers);
    peers.push(peer);
    return peer;
  };
  beforeAll(async () => {
    dataDir = tempDir('mpc-relay-trust-');
    relay = await startRelay({ port: 0, dataDir, limits: { inboxMaxMessages: 5 } });
  });
  afterAll(async () => {
    for (const peer of peers) peer.close();
    await relay?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("any mpc capturing a cli's answers: CONVERSATION_TAKEN, and the FullSig reaches the mpc that asked", async () => {
    const cli = await open('type=cli&cliId=cli1');
    const mpcA = await open('type=mpc&mpcId=mpcA');
    const evil = await open('type=mpc&mpcId=mpcEvil');
    mpcA.send(partialSig('mpcA', 'cli1', 'tx1'));
    expect((await json(cli)).message.transactionId).toBe('tx1');
    evil.send(partialSig('mpcEvil', 'cli1', 'tx1'));
    expect(await errorCode(evil)).toBe('CONVERSATION_TAKEN');
    // mpcEvil writing to the cli under any other key (the issue's `cliToMpc {cli1: mpcEvil}`) does
    // not move tx1's conversation.
    evil.send(partialSig('mpcEvil', 'cli1', 'tx-evil'));
    expect((await json(cli)).message.transactionId).toBe('tx-evil');
    cli.send(fullSig('cli1', 'tx1'));
    expect(await json(mpcA)).toMatchObject({
      operationType: 'FullSig',
      from: 'cli1',
      to: 'mpcA',
      message: { transactionId: 'tx1' },
    });
    // mpcEvil's next frame is the answer to its own transaction: tx1's FullSig never reached it.
    cli.send(fullSig('cli1', 'tx-evil'));
    expect(await json(evil)).toMatchObject({ to: 'mpcEvil', message: { transactionId: 'tx-evil' } });
  });

  it('the same before the cli connects: the waiting message of another mpc is refused, not stored', async () => {
    const mpcA = await open('type=mpc&mpcId=mpcA2');
    const evil = await open('type=mpc&mpcId=mpcEvil2');
    // The order under test: mpcA2's message is stored before mpcEvil2's arrives. Sent at once on two
    // connections, they run in two execution environments and either may finish first.
    const mpcAStored = new Promise<void>((resolve) => {
      const stored = (route: { routeKey: string }) => {
        if (route.routeKey !== 'sendServer') return;
        relay.gateway.off('route', stored);
        resolve();
      };
      relay.gateway.on('route', stored);
    });
    mpcA.send(partialSig('mpcA2', 'cli2', 'tx2'));
    await mpcAStored;
    evil.send(partialSig('mpcEvil2', 'cli2', 'tx2'));
    expect(await errorCode(evil)).toBe('CONVERSATION_TAKEN');
    const cli = await open('type=cli&cliId=cli2');
    cli.send({ action: 'getConnectionId' });
    expect(await json(cli)).toMatchObject({ from: 'mpcA2', message: { transactionId: 'tx2' } });
    expect(await json(cli)).toHaveProperty('connectionId');
    cli.send(fullSig('cli2', 'tx2'));
    expect(await json(mpcA)).toMatchObject({ to: 'mpcA2', message: { transactionId: 'tx2' } });
    evil.send(partialSig('mpcEvil2', 'cli2', 'tx-evil2'));
    expect((await json(cli)).message.transactionId).toBe('tx-evil2');
    cli.send(fullSig('cli2', 'tx-evil2'));
    expect((await json(evil)).message.transactionId).toBe('tx-evil2');
  });

  it('a sessionId names the conversation of any operation type', async () => {
    const cli = await open('type=cli&cliId=cli3');
    const mpcA = await open('type=mpc&mpcId=mpcA3');
    const evil = await open('type=mpc&mpcId=mpcEvil3');
    const nonce = (mpcId: string) => ({
      action: 'sendServer',
      sourceId: mpcId,
      cliToMpc: { cli3: mpcId },
      operationType: 'musig2.nonce',
      message: { n: mpcId },
      sessionId: 'sess-1',
    });
    mpcA.send(nonce('mpcA3'));
    expect(await json(cli)).toEqual({
      operationType: 'musig2.nonce',
      from: 'mpcA3',
      message: { n: 'mpcA3' },
      sessionId: 'sess-1',
    });
    evil.send(nonce('mpcEvil3'));
    expect(await errorCode(evil)).toBe('CONVERSATION_TAKEN');
    cli.send({
      action: 'sendServer',
      sourceId: 'cli3',
      operationType: 'musig2.partial',
      message: { s: 1 },
      sessionId: 'sess-1',
    });
    expect(await json(mpcA)).toEqual({
      operationType: 'musig2.partial',
      from: 'cli3',
      to: 'mpcA3',
      message: { s: 1 },
      sessionId: 'sess-1',
    });
    cli.send({
      action: 'sendServer',
      sourceId: 'cli3',
      operationType: 'musig2.partial',
      message: {},
      sessionId: 'sess-unknown',
    });
    expect(await errorCode(cli)).toBe('NO_MAPPING');
  });

  it('no limit per peer: the connection over 10 per id is refused (429), and a send reaches 10 copies, not more', async () => {
    const same: Peer[] = [];
    for (let i = 0; i < 10; i++) same.push(await open('type=cli&cliId=crowd'));
    const refused = await handshake(`${relay.url}?type=cli&cliId=crowd`, { Authorization: 'Allow' });
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'THROTTLED' } });
    const mpc = await open('type=mpc&mpcId=mpcCrowd');
    mpc.send(partialSig('mpcCrowd', 'crowd', 'tx-crowd'));
    for (const peer of same) expect((await json(peer)).message.transactionId).toBe('tx-crowd');
    // Once one of them left ($disconnect removed its record), a new one is accepted again.
    same[0]?.close();
    let again = 0;
    for (let attempt = 0; attempt < 200 && again !== 101; attempt++) {
      again = (await handshake(`${relay.url}?type=cli&cliId=crowd`, { Authorization: 'Allow' })).status;
    }
    expect(again).toBe(101);
  });

  it("no limit per peer: an offline cli's inbox takes 5 messages (--inbox-max-messages), then INBOX_FULL; what waits is untouched", async () => {
    const mpc = await open('type=mpc&mpcId=mpcFlood');
    const big = (tx: string) => ({
      ...partialSig('mpcFlood', 'flooded', tx),
      message: { ...partialSig('mpcFlood', 'flooded', tx).message, partialSig: 'p'.repeat(30_000) },
    });
    for (let i = 0; i < 8; i++) mpc.send(big(`f${i}`));
    mpc.send({ action: 'ping' });
    const answers: string[] = [];
    for (;;) {
      const frame = await json(mpc);
      if ('pong' in frame) break;
      answers.push(frame.error.code);
    }
    expect(answers).toEqual(['INBOX_FULL', 'INBOX_FULL', 'INBOX_FULL']);
    const cli = await open('type=cli&cliId=flooded');
    cli.send({ action: 'getConnectionId' });
    const got: string[] = [];
    for (;;) {
      const frame = await json(cli);
      if ('connectionId' in frame) break;
      got.push(frame.message.transactionId);
    }
    expect(got).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
  });

  it('query and header names like __proto__, constructor, toString are ordinary keys (never a 500)', async () => {
    const ok = await handshake(`${relay.url}?type=cli&cliId=odd&__proto__=1&constructor=1&toString=1`, {
      Authorization: 'Allow',
      constructor: 'x',
      toString: 'y',
    });
    expect(ok.status).toBe(101);
    const bad = await handshake(`${relay.url}?constructor=1&__proto__=x`, { Authorization: 'Allow' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: 'INVALID_FRAME' } });
  });

  it("the relay's own id is refused at connect (400): no peer's frame can pass for the relay's broadcast", async () => {
    for (const query of ['type=mpc&mpcId=relay', 'type=cli&cliId=Relay']) {
      const refused = await handshake(`${relay.url}?${query}`, { Authorization: 'Allow' });
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body).error.message).toContain('reserved');
    }
  });
});

describe('jwt mode', () => {
  let relay: Relay;
  let isolated: Relay;
  let dataDir: string;
  let secret: string;
  const peers: Peer[] = [];
  const bearer = (value: string) => ({ Authorization: `Bearer ${value}` });
  const token = (type: 'cli' | 'mpc', id: string, teams: string[] = [], extra: { peers?: string[] } = {}) =>
    signToken(secret, { type, id, ttlSeconds: 600, teams, ...extra });
  const open = async (on: Relay, type: 'cli' | 'mpc', id: string, bearerToken: string) => {
    const peer = await Peer.open(on.url, `type=${type}&${type}Id=${id}`, bearer(bearerToken));
    peers.push(peer);
    return peer;
  };
  beforeAll(async () => {
    dataDir = tempDir('mpc-relay-trust-jwt-');
    relay = await startRelay({ port: 0, dataDir, authMode: 'jwt' });
    secret = loadOrCreateJwtSecret(dataDir, {}).secret;
    isolated = await startRelay({
      port: 0,
      dataDir: join(dataDir, 'isolated'),
      authMode: 'jwt',
      env: { TENANT_ISOLATION: 'on', JWT_SECRET: secret },
    });
  });
  afterAll(async () => {
    for (const peer of peers) peer.close();
    await relay?.close();
    await isolated?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('pairing: a cli token minted with --peers mpcA refuses mpcEvil (FORBIDDEN), online and while offline', async () => {
    const minted = tokenCommand([
      '--',
      '--type',
      'cli',
      '--id',
      'paired',
      '--data-dir',
      dataDir,
      '--peers',
      'mpcA',
    ]);
    expect(minted.status).toBe(0);
    expect(minted.stderr).toContain('(peers mpcA)');
    const cliToken = printedToken(minted);
    const mpcA = await open(relay, 'mpc', 'mpcA', token('mpc', 'mpcA'));
    const evil = await open(relay, 'mpc', 'mpcEvil', token('mpc', 'mpcEvil'));
    // While the cli is offline: stored, then dropped at delivery to a connection that does not list mpcEvil.
    evil.send(partialSig('mpcEvil', 'paired', 'tx-offline'));
    evil.send({ action: 'ping' });
    expect(await json(evil)).toHaveProperty('pong');
    const cli = await open(relay, 'cli', 'paired', cliToken);
    cli.send({ action: 'getConnectionId' });
    expect(await json(cli)).toHaveProperty('connectionId');
    evil.send(partialSig('mpcEvil', 'paired', 'tx1'));
    expect(await errorCode(evil)).toBe('FORBIDDEN');
    mpcA.send(partialSig('mpcA', 'paired', 'tx1'));
    expect(await json(cli)).toMatchObject({ from: 'mpcA', message: { transactionId: 'tx1' } });
    cli.send(fullSig('paired', 'tx1'));
    expect(await json(mpcA)).toMatchObject({ to: 'mpcA', message: { transactionId: 'tx1' } });
    // An mpc token with --peers cannot contact a cli outside it.
    const narrow = await open(
      relay,
      'mpc',
      'mpcNarrow',
      token('mpc', 'mpcNarrow', [], { peers: ['someone'] }),
    );
    narrow.send(partialSig('mpcNarrow', 'paired', 'tx-n'));
    expect(await errorCode(narrow)).toBe('FORBIDDEN');
    mpcA.send(partialSig('mpcA', 'paired', 'tx-control'));
    expect((await json(cli)).message.transactionId).toBe('tx-control');
  });

  it('jwt without isolation: the capture attack is refused the same way', async () => {
    const cli = await open(relay, 'cli', 'cliJ', token('cli', 'cliJ'));
    const mpcA = await open(relay, 'mpc', 'mpcAJ', token('mpc', 'mpcAJ'));
    const evil = await open(relay, 'mpc', 'mpcEvilJ', token('mpc', 'mpcEvilJ'));
    mpcA.send(partialSig('mpcAJ', 'cliJ', 'txJ'));
    await json(cli);
    evil.send(partialSig('mpcEvilJ', 'cliJ', 'txJ'));
    expect(await errorCode(evil)).toBe('CONVERSATION_TAKEN');
    cli.send(fullSig('cliJ', 'txJ'));
    expect(await json(mpcA)).toMatchObject({ to: 'mpcAJ', message: { transactionId: 'txJ' } });
    evil.send(partialSig('mpcEvilJ', 'cliJ', 'txJ-evil'));
    await json(cli);
    cli.send(fullSig('cliJ', 'txJ-evil'));
    expect((await json(evil)).message.transactionId).toBe('txJ-evil');
  });

  it('tenant isolation, a cli in teams a and b: mpcA writing after mpcB does not divert the team-b FullSig', async () => {
    const cli = await open(isolated, 'cli', 'multi', token('cli', 'multi', ['team-a', 'team-b']));
    const mpcA = await open(isolated, 'mpc', 'mpcTA', token('mpc', 'mpcTA', ['team-a']));
    const mpcB = await open(isolated, 'mpc', 'mpcTB', token('mpc', 'mpcTB', ['team-b']));
    mpcB.send(partialSig('mpcTB', 'multi', 'tx-b', 'team-b'));
    expect((await json(cli)).message.transactionId).toBe('tx-b');
    mpcA.send(partialSig('mpcTA', 'multi', 'tx-a', 'team-a'));
    expect((await json(cli)).message.transactionId).toBe('tx-a');
    cli.send(fullSig('multi', 'tx-b', 'team-b'));
    expect(await json(mpcB)).toMatchObject({
      to: 'mpcTB',
      message: { transactionId: 'tx-b', teamId: 'team-b' },
    });
    // The team-b answer under team-a's conversation is refused, and mpcA's next frame is its own answer.
    cli.send(fullSig('multi', 'tx-a', 'team-b'));
    expect(await errorCode(cli)).toBe('FORBIDDEN');
    cli.send(fullSig('multi', 'tx-a', 'team-a'));
    expect(await json(mpcA)).toMatchObject({
      to: 'mpcTA',
      message: { transactionId: 'tx-a', teamId: 'team-a' },
    });
  });

  it('tenant isolation: an answer without a teamId follows its conversation, never crossing to the other team', async () => {
    const cli = await open(isolated, 'cli', 'multi2', token('cli', 'multi2', ['team-a', 'team-b']));
    const mpcA = await open(isolated, 'mpc', 'mpcTA2', token('mpc', 'mpcTA2', ['team-a']));
    const mpcB = await open(isolated, 'mpc', 'mpcTB2', token('mpc', 'mpcTB2', ['team-b']));
    const signing = (mpcId: string, txId: string) => ({
      action: 'sendServer',
      sourceId: mpcId,
      cliToMpc: { multi2: mpcId },
      operationType: 'signing',
      message: { txId, signature: '0xdead' },
    });
    const answer = (txId: string) => ({
      action: 'sendServer',
      sourceId: 'multi2',
      operationType: 'fullSig',
      message: { txId, signature: '0xbeef' },
    });
    mpcB.send(signing('mpcTB2', 'w-b'));
    expect((await json(cli)).message.txId).toBe('w-b');
    mpcA.send(signing('mpcTA2', 'w-a'));
    expect((await json(cli)).message.txId).toBe('w-a');
    cli.send(answer('w-b'));
    expect(await json(mpcB)).toMatchObject({
      operationType: 'fullSig',
      to: 'mpcTB2',
      message: { txId: 'w-b' },
    });
    cli.send(answer('w-a'));
    expect(await json(mpcA)).toMatchObject({
      operationType: 'fullSig',
      to: 'mpcTA2',
      message: { txId: 'w-a' },
    });
    // mpcB's next frame is another answer of its own: w-a never reached it.
    mpcB.send(signing('mpcTB2', 'w-b2'));
    await json(cli);
    cli.send(answer('w-b2'));
    expect((await json(mpcB)).message.txId).toBe('w-b2');
  });
});
