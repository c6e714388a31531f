/**
 * Signing sessions end to end on the local relay (apps/relay: local gateway, handler bundles,
 * dynalite), real WebSocket connections, port 0: MuSig2 between an mpc and a co-signer, forged
 * partial signatures, 10 concurrent sessions over one pair, DKLs23-sized round messages as
 * fragments (also while the receiver is away), a tampered fragment, a sealed exchange.
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Relay } from '@mpc-relay/relay';
import {
  type Delivery,
  type FragmentRefusal,
  Musig2KeyStore,
  type Musig2Pair,
  musig2KeySetupProtocol,
  musig2SignProtocol,
  type RelayClient,
  type SendRequest,
  SessionAbortError,
  SessionManager,
  type SessionProtocol,
  splitIntoFragments,
} from '@mpc-relay/signer';
import { type ThreeRoundResult, threeRoundProtocol as threeRound, until } from '@mpc-relay/testing';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { cutProxy } from './cut-proxy.js';
import { relaySuite } from './relay-suite.js';

const suite = relaySuite('signer-sessions-e2e-');
const threeRoundProtocol = (): SessionProtocol<Record<string, never>, ThreeRoundResult> =>
  threeRound((code, reason) => new SessionAbortError(code, reason));

function relayWith(log?: (line: string) => void): Promise<Relay> {
  return suite.relay(log ? { log } : {});
}

async function connected(
  relay: Relay,
  peer: { type: 'cli' | 'mpc'; id: string },
  url = relay.url,
): Promise<RelayClient> {
  const client = suite.client({ url, peer });
  const id = new Promise<void>((resolve) => client.once('connectionId', () => resolve()));
  await client.connect();
  await id;
  return client;
}

/** Wraps `client.send` so a test can alter what leaves. */
function interceptSends(client: RelayClient, change: (request: SendRequest) => SendRequest | SendRequest[]) {
  const send = client.send.bind(client);
  client.send = (request: SendRequest) => {
    const changed = change(request);
    return Promise.all((Array.isArray(changed) ? changed : [changed]).map((each) => send(each))).then(
      () => undefined,
    );
  };
}

async function musig2Pair(relay: Relay, options: { seal?: boolean; cliUrl?: string } = {}) {
  const mpc = await connected(relay, { type: 'mpc', id: 'mpc-a' });
  const cli = await connected(relay, { type: 'cli', id: 'cli-a' }, options.cliUrl);
  const mpcStore = await new Musig2KeyStore({ dir: suite.path(), self: mpc.peer }).open();
  const cliStore = await new Musig2KeyStore({ dir: suite.path(), self: cli.peer }).open();
  const mpcSessions = new SessionManager(mpc, { sealFor: (id) => mpcStore.cached(id)?.seal });
  const cliSessions = new SessionManager(cli, {
    allowPeer: (id) => id === 'mpc-a',
    sealFor: (id) => cliStore.cached(id)?.seal,
  });
  cliSessions.register(musig2KeySetupProtocol(cliStore)).register(musig2SignProtocol(cliStore));
  const pair = await mpcSessions.start(musig2KeySetupProtocol(mpcStore), {
    peerId: 'cli-a',
    params: { seal: options.seal ?? false },
  }).result;
  const sign = musig2SignProtocol(mpcStore);
  const signOnce = (transactionId: string) =>
    mpcSessions.start(sign, {
      peerId: 'cli-a',
      params: { accountHash: 'acct', teamId: 'team', transactionId },
    }).result;
  return { mpc, cli, mpcStore, cliStore, mpcSessions, cliSessions, pair, signOnce };
}

const verifies = (result: { signature: string; messageDigest: string; aggregatePublicKey: string }) =>
  schnorr.verify(
    hexToBytes(result.signature),
    hexToBytes(result.messageDigest),
    hexToBytes(result.aggregatePublicKey),
  );

describe('MuSig2 sessions over the relay', () => {
  it('refuses a forged partial signature (SignRefused, no FullSig); the next session signs', async () => {
    const relay = await relayWith();
    const { mpc, signOnce, pair } = await musig2Pair(relay);
    let forge = true;
    interceptSends(mpc, (request) => {
      if (request.operationType !== 'PartialSig' || !forge) return request;
      forge = false;
      const message = request.message as { partialSig: string };
      return { ...request, message: { ...message, partialSig: `${message.partialSig.slice(0, 62)}00` } };
    });
    const received: Delivery[] = [];
    mpc.on('message', (delivery) => received.push(delivery));
    await expect(signOnce('tx-forged')).rejects.toMatchObject({ code: 'INVALID_PARTIAL_SIG', by: 'peer' });
    const good = await signOnce('tx-good');
    expect(verifies(good)).toBe(true);
    expect(good.aggregatePublicKey).toBe(pair.aggregatePublicKey);
    const answers = received.map((d) => [
      d.operationType,
      (d.message as { transactionId?: string }).transactionId,
    ]);
    expect(answers).toEqual([
      ['MuSig2Nonce', 'tx-forged'],
      ['SignRefused', 'tx-forged'],
      ['MuSig2Nonce', 'tx-good'],
      ['FullSig', 'tx-good'],
    ]);
  }, 120_000);

  it('runs 10 signing sessions at once over one pair, each signature verified', async () => {
    const relay = await relayWith();
    const { signOnce, mpc } = await musig2Pair(relay);
    const results = await Promise.all(Array.from({ length: 10 }, (_, n) => signOnce(`tx-${n}`)));
    expect(results.every(verifies)).toBe(true);
    expect(new Set(results.map((r) => r.sessionId)).size).toBe(10);
    expect(mpc.pendingCount).toBe(0);
  }, 120_000);

  it('seals a pair: the table (while the PartialSig waits) and the relay log never hold it in clear', async () => {
    const logs: string[] = [];
    const relay = await relayWith((line) => logs.push(line));
    const door = await cutProxy(relay.url);
    suite.defer(() => door.close());
    const { mpc, cli, mpcStore, signOnce, pair } = await musig2Pair(relay, { seal: true, cliUrl: door.url });
    expect(pair.sealed).toBe(true);
    // The mpc's partial signature as computed, before it is sealed.
    const partials: string[] = [];
    const own = mpcStore.cached('cli-a') as Musig2Pair;
    const partialSign = own.partialSign.bind(own);
    own.partialSign = (signing, nonce) => {
      const partial = partialSign(signing, nonce);
      partials.push(bytesToHex(partial));
      return partial;
    };
    const wire: string[] = [];
    mpc.on('frameOut', (text) => wire.push(text));
    cli.on('frameIn', (text) => wire.push(text));
    // The co-signer drops off once its nonce reached the mpc: the PartialSig waits in the table.
    mpc.on('frameIn', (text) => {
      if (text.includes('"MuSig2Nonce"')) door.cut();
    });
    const dynamo = new DynamoDBClient({
      endpoint: relay.dynamoEndpoint,
      region: 'us-east-1',
      credentials: relay.credentials, // the relay's own: its DynamoDB endpoint checks SigV4
    });
    suite.defer(() => dynamo.destroy());
    let scanned = '';
    mpc.on('frameIn', (text) => {
      if (!text.includes('"status":"stored"') || scanned) return;
      scanned = 'pending';
      void dynamo
        .send(new ScanCommand({ TableName: relay.tableName }))
        .then((answer) => {
          scanned = JSON.stringify(answer.Items);
        })
        .finally(() => door.open());
    });
    const result = await signOnce('tx-sealed');
    expect(verifies(result)).toBe(true);
    expect(partials).toHaveLength(1);
    const secret = partials[0] as string;
    expect(scanned).toContain('PartialSig');
    expect(scanned).toContain('X25519-HKDF-SHA256-XChaCha20-Poly1305'); // the stored PartialSig: ciphertext
    const sent = wire.filter((text) => text.includes('"PartialSig"') && text.includes('sendServer'));
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0] as string).message).toMatchObject({
      partialSig: '',
      teamId: 'team',
      sealed: { v: 1 },
    });
    for (const text of [...wire, ...logs, scanned]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(result.signature.slice(64));
    }
  }, 120_000);
});

describe('large round messages as fragments', () => {
  it('carries a three-round protocol with 365 KB and 113 KB messages across the relay', async () => {
    const relay = await relayWith();
    const mpc = await connected(relay, { type: 'mpc', id: 'mpc-b' });
    const cli = await connected(relay, { type: 'cli', id: 'cli-b' });
    const protocol = threeRoundProtocol();
    new SessionManager(cli).register(protocol);
    const fragments: number[] = [];
    mpc.on('frameOut', (text) => {
      if (text.includes('"Fragment"')) fragments.push(Buffer.byteLength(text));
    });
    cli.on('frameOut', (text) => {
      if (text.includes('"Fragment"')) fragments.push(Buffer.byteLength(text));
    });
    const result = await new SessionManager(mpc).start(protocol, { peerId: 'cli-b', params: {} }).result;
    expect(result.proofs).toHaveLength(3);
    expect(fragments.length).toBeGreaterThanOrEqual(17);
    expect(Math.max(...fragments)).toBeLessThanOrEqual(32_768);
  }, 120_000);

  it('carries a 365 KB round message across a reconnect of the receiver while it is stored', async () => {
    const relay = await relayWith();
    const door = await cutProxy(relay.url);
    suite.defer(() => door.close());
    const mpc = await connected(relay, { type: 'mpc', id: 'mpc-c' });
    const cli = await connected(relay, { type: 'cli', id: 'cli-c' }, door.url);
    const protocol = threeRoundProtocol();
    const cliSessions = new SessionManager(cli).register(protocol);
    const finished: unknown[] = [];
    cliSessions.on('finished', (info) => finished.push(info.result));
    door.cut(); // the co-signer's connection drops; it keeps trying, the door stays shut
    await until(
      () => cli.state === 'reconnecting' || cli.state === 'connecting',
      'the co-signer to lose its connection',
    );
    const statuses: string[] = [];
    mpc.on('frameIn', (text) => {
      const status = /"status":"(\w+)"/.exec(text)?.[1];
      if (status) statuses.push(status);
    });
    let fragments = 0;
    mpc.on('frameOut', (text) => {
      if (text.includes('"Fragment"')) fragments += 1;
    });
    const { result } = new SessionManager(mpc).start(protocol, { peerId: 'cli-c', params: {} });
    await until(
      () => fragments > 0 && statuses.length === fragments,
      'every fragment of round 1 stored',
      90_000,
    );
    expect(fragments).toBeGreaterThanOrEqual(16); // 365 KB in frames of at most 32 KB
    expect(new Set(statuses)).toEqual(new Set(['stored']));
    door.open(); // the same client reconnects and gets the stored fragments
    const ours = await result;
    await until(() => finished.length === 1, 'the co-signer to finish', 60_000);
    expect(finished[0]).toEqual({ proofs: ours.proofs });
  }, 180_000);

  it('refuses a tampered fragment: nothing delivered; the next message arrives', async () => {
    const relay = await relayWith();
    const mpc = await connected(relay, { type: 'mpc', id: 'mpc-d' });
    const cli = await connected(relay, { type: 'cli', id: 'cli-d' });
    const received: Delivery[] = [];
    const refused: FragmentRefusal[] = [];
    cli.on('message', (delivery) => received.push(delivery));
    cli.on('fragmentRefused', (refusal) => refused.push(refusal));
    // A sender whose fragment 3 changed on the way: every frame is an ordinary message.
    const blob = (sessionId: string, fill: string) =>
      splitIntoFragments(mpc.peer, {
        operationType: 'Blob',
        cliId: 'cli-d',
        sessionId,
        message: { blob: fill.repeat(200_000) },
      });
    const tampered = blob('s-1', 'a');
    const victim = tampered[3]?.message as { data: string };
    const data = Buffer.from(victim.data, 'base64');
    data[0] = (data[0] as number) ^ 0xff;
    victim.data = data.toString('base64');
    for (const fragment of [...tampered, ...blob('s-2', 'b')]) await mpc.send(fragment);
    await until(() => received.length > 0, 'the second message', 90_000);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ operationType: 'Blob', sessionId: 's-2' });
    expect(refused).toMatchObject([{ code: 'FRAGMENT_DIGEST', sessionId: 's-1' }]);
  }, 120_000);
});
