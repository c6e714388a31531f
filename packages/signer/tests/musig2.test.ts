/**
 * MuSig2 over the session layer between an mpc and a cli (in memory; the relay end to end is in
 * musig2-e2e.test.ts): key setup, signatures verified with BIP-340, forged and replayed partial
 * signatures refused, a session signs once, a lost session is aborted, never resumed.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schnorr } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Delivery,
  Musig2KeyStore,
  musig2Digest,
  musig2KeySetupProtocol,
  musig2SignProtocol,
  SessionAbortedError,
  SessionManager,
} from '../src/index.js';
import { loopback } from './helpers/loopback.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'musig2-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function pairUp(options: { seal?: boolean } = {}) {
  const link = loopback();
  const mpcStore = await new Musig2KeyStore({ dir: join(root, 'mpc'), self: link.mpc.peer }).open();
  const cliStore = await new Musig2KeyStore({ dir: join(root, 'cli'), self: link.cli.peer }).open();
  const mpcSessions = new SessionManager(link.mpcClient, { sealFor: (id) => mpcStore.cached(id)?.seal });
  const cliSessions = new SessionManager(link.cliClient, {
    allowPeer: (id) => id === 'mpc1',
    sealFor: (id) => cliStore.cached(id)?.seal,
  });
  cliSessions.register(musig2KeySetupProtocol(cliStore)).register(musig2SignProtocol(cliStore));
  const keySetup = musig2KeySetupProtocol(mpcStore);
  const sign = musig2SignProtocol(mpcStore);
  const pair = await mpcSessions.start(keySetup, { peerId: 'cli1', params: { seal: options.seal ?? false } })
    .result;
  return { link, mpcStore, cliStore, mpcSessions, cliSessions, sign, pair };
}

const request = (n: number) => ({ accountHash: 'acct', teamId: 'team', transactionId: `tx-${n}` });

describe('MuSig2 key setup and signing', () => {
  it('derives the same aggregate key on both sides and keeps only its own secret key, 0600 in 0700', async () => {
    const { pair, cliStore, mpcStore } = await pairUp();
    const cliPair = await cliStore.get('mpc1');
    expect(cliPair?.aggregatePublicKeyHex).toBe(pair.aggregatePublicKey);
    expect(pair.taprootAddress).toMatch(/^bc1p[0-9a-z]{58}$/);
    for (const [store, peer] of [
      [cliStore, 'mpc1'],
      [mpcStore, 'cli1'],
    ] as const) {
      expect((await stat(store.dir)).mode & 0o777).toBe(0o700);
      const file = join(store.dir, `musig2-${peer}.json`);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const saved = JSON.parse(await readFile(file, 'utf8'));
      expect(Object.keys(saved).sort()).toEqual([
        'createdAt',
        'network',
        'peerId',
        'peerPublicKey',
        'scheme',
        'secretKey',
        'self',
        'version',
      ]);
    }
    expect(JSON.stringify(cliPair)).not.toContain('secretKey');
  });

  it('signs 20 requests, each a BIP-340 signature under the aggregate key; no nonce is ever written', async () => {
    const { mpcSessions, sign, pair, cliStore, mpcStore } = await pairUp();
    const results = await Promise.all(
      Array.from(
        { length: 20 },
        (_, n) => mpcSessions.start(sign, { peerId: 'cli1', params: request(n) }).result,
      ),
    );
    const nonces = new Set<string>();
    for (const [n, result] of results.entries()) {
      expect(result.messageDigest).toBe(Buffer.from(musig2Digest(request(n))).toString('hex'));
      expect(
        schnorr.verify(
          hexToBytes(result.signature),
          hexToBytes(result.messageDigest),
          hexToBytes(pair.aggregatePublicKey),
        ),
      ).toBe(true);
      expect(result.fullSig).toMatchObject({
        signatureV: '0',
        scheme: 'BIP-340/MuSig2',
        signatureR: result.signature.slice(0, 64),
      });
      nonces.add(result.signature.slice(0, 64));
    }
    expect(nonces.size).toBe(20); // a fresh R per signature
    for (const store of [cliStore, mpcStore]) {
      const files = await readdir(store.dir);
      expect(files).toHaveLength(1);
    }
  });

  it('refuses a forged partial signature with SignRefused, and sends no FullSig', async () => {
    const { link, mpcSessions, sign } = await pairUp();
    const fromCli: Delivery[] = [];
    link.setTap(({ delivery, from }) => {
      if (from.type === 'cli') fromCli.push(delivery);
      if (delivery.operationType === 'PartialSig') {
        const message = delivery.message as { partialSig: string };
        const flipped = (Number.parseInt(message.partialSig.slice(-1), 16) ^ 1).toString(16);
        return [
          { ...delivery, message: { ...message, partialSig: message.partialSig.slice(0, -1) + flipped } },
        ];
      }
      return [delivery];
    });
    const outcome = mpcSessions.start(sign, { peerId: 'cli1', params: request(1) }).result;
    await expect(outcome).rejects.toMatchObject({ code: 'INVALID_PARTIAL_SIG', by: 'peer' });
    expect(fromCli.map((d) => d.operationType)).toEqual(['MuSig2Nonce', 'SignRefused']);
    expect(fromCli[1]?.message).toMatchObject({ transactionId: 'tx-1', code: 'INVALID_PARTIAL_SIG' });
  });

  it('refuses a partial signature replayed from another session', async () => {
    const { link, mpcSessions, sign } = await pairUp();
    let captured: Delivery | undefined;
    link.setTap(({ delivery }) => {
      if (delivery.operationType === 'PartialSig' && !captured) captured = delivery;
      return [delivery];
    });
    await mpcSessions.start(sign, { peerId: 'cli1', params: request(1) }).result;
    // A second session for the same request: its PartialSig is replaced by the first one.
    const fromCli: Delivery[] = [];
    link.setTap(({ delivery, from }) => {
      if (from.type === 'cli') fromCli.push(delivery);
      if (delivery.operationType === 'PartialSig')
        return [{ ...(captured as Delivery), sessionId: delivery.sessionId as string }];
      return [delivery];
    });
    await expect(
      mpcSessions.start(sign, { peerId: 'cli1', params: request(1) }).result,
    ).rejects.toMatchObject({
      code: 'INVALID_PARTIAL_SIG',
    });
    expect(fromCli.map((d) => d.operationType)).toEqual(['MuSig2Nonce', 'SignRefused']);
  });

  it('a session signs once: a replayed PartialSig is dropped, a second attempt is refused', async () => {
    const { link, mpcSessions, cliSessions, sign } = await pairUp();
    const sent: Delivery[] = [];
    link.setTap(({ delivery }) => {
      sent.push(delivery);
      return [delivery];
    });
    const { sessionId, result } = mpcSessions.start(sign, { peerId: 'cli1', params: request(7) });
    await result;
    const partial = sent.find((d) => d.operationType === 'PartialSig') as Delivery;
    const dropped: string[] = [];
    cliSessions.on('dropped', (info) => dropped.push(info.reason));
    const answers: Delivery[] = [];
    link.mpc.on('message', (delivery) => answers.push(delivery));
    link.cli.deliver(partial); // the very same message again
    const request2 = sent.find((d) => d.operationType === 'SignRequest') as Delivery;
    link.cli.deliver({
      ...request2,
      message: { ...(request2.message as object), transactionId: 'tx-other' },
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(dropped[0]).toMatch(/duplicate/);
    expect(answers.map((d) => [d.operationType, (d.message as { code?: string }).code, d.sessionId])).toEqual(
      [['SignRefused', 'SESSION_ENDED', sessionId]],
    );
  });

  it('a session lost in a restart is aborted, never resumed with an old nonce', async () => {
    const { link, cliStore, mpcSessions, cliSessions, sign } = await pairUp();
    // The co-signer "crashes" after sending its nonce: its sessions are gone with the process.
    link.setTap(({ delivery }) => {
      if (delivery.operationType === 'MuSig2Nonce') {
        link.cli.listeners.clear(); // gone with the process, without a word
        const restarted = new SessionManager(link.cliClient, { allowPeer: () => true, orphanHoldMs: 20 });
        restarted.register(musig2SignProtocol(cliStore));
      }
      return [delivery];
    });
    const outcome = mpcSessions.start(sign, { peerId: 'cli1', params: request(3) }).result;
    await expect(outcome).rejects.toBeInstanceOf(SessionAbortedError);
    await expect(outcome).rejects.toMatchObject({ code: 'UNKNOWN_SESSION', by: 'peer' });
    expect(cliSessions.activeCount).toBe(1); // the lost process's state, never consulted again
  });

  it('refuses an mpc that is not on the allow-list, before any nonce exists', async () => {
    const { link, cliStore } = await pairUp();
    link.cli.listeners.clear();
    const other = new SessionManager(link.cliClient, { allowPeer: () => false });
    const answers: Delivery[] = [];
    link.mpc.on('message', (delivery) => answers.push(delivery));
    other.register(musig2SignProtocol(cliStore));
    link.cli.deliver({
      operationType: 'SignRequest',
      from: 'evil',
      sessionId: 's-evil',
      message: {
        scheme: 'BIP-340/MuSig2',
        ...request(1),
        aggregatePublicKey: '00'.repeat(32),
        messageDigest: '00'.repeat(32),
      },
      raw: '',
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answers.filter((d) => (d.message as { code?: string }).code === 'NOT_ALLOWED')).toHaveLength(1);
  });

  it('seals every signing message of a sealed pair; the relay sees only ciphertext', async () => {
    const { link, mpcSessions, sign, pair } = await pairUp({ seal: true });
    expect(pair.sealed).toBe(true);
    const seen: string[] = [];
    link.setTap(({ delivery }) => {
      seen.push(delivery.raw);
      return [delivery];
    });
    const result = await mpcSessions.start(sign, { peerId: 'cli1', params: request(9) }).result;
    expect(
      schnorr.verify(
        hexToBytes(result.signature),
        hexToBytes(result.messageDigest),
        hexToBytes(pair.aggregatePublicKey),
      ),
    ).toBe(true);
    expect(seen).toHaveLength(4);
    for (const raw of seen) {
      expect(raw).toContain('"sealed"');
      expect(raw).not.toContain(result.signature.slice(0, 64));
      expect(raw).not.toContain('publicNonce');
    }
    const partial = JSON.parse(seen[2] as string);
    expect(partial.message).toMatchObject({ partialSig: '', teamId: 'team' });
  });
});
