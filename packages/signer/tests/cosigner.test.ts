import { FakeRelay } from '@mpc-relay/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attachCosigner,
  RelayClient,
  type SigningBackend,
  type SignRefusedMessage,
  SingleKeyCosigner,
  verifyFullSig,
} from '../src/index.js';

const TEST_KEY = '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
const V1_PARTIAL = {
  accountHash: 'accountHash',
  teamId: 'teamId',
  transactionId: 'transactionId',
  partialSig: 'partialSig',
};
const V1_DELIVERY = JSON.stringify({
  operationType: 'PartialSig',
  from: 'IgniterC56D',
  message: V1_PARTIAL,
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(backend: SigningBackend, signTimeoutMs?: number) {
  const relay = await new FakeRelay().start();
  cleanups.push(() => relay.stop());
  const client = new RelayClient({ url: relay.url, peer: { type: 'cli', id: 'cli123' } });
  cleanups.push(() => client.close());
  const events: string[] = [];
  attachCosigner(
    client,
    backend,
    {
      onSigned: ({ fullSig }) => events.push(`signed ${fullSig.transactionId}`),
      onRefused: ({ refusal }) => events.push(`refused ${refusal.code}`),
    },
    signTimeoutMs === undefined ? {} : { signTimeoutMs },
  );
  await client.connect();
  return { relay, client, events };
}

describe('attachCosigner', () => {
  it('answers the v1 PartialSig with the v1 FullSig frame, carrying a verifiable signature', async () => {
    const cosigner = SingleKeyCosigner.fromHex(TEST_KEY);
    const { relay, events } = await setup(cosigner);
    relay.last.socket.send(V1_DELIVERY);
    await relay.waitFor(() => relay.sendServerFrames().length === 1, 'the FullSig');
    const text = relay.last.frames.find((frame) => frame.includes('FullSig'));
    const { signatureR, signatureS, signatureV } = cosigner.signFields(V1_PARTIAL);
    expect(text).toBe(
      `{"action":"sendServer","sourceId":"cli123","operationType":"FullSig","message":{"accountHash":"accountHash","signatureR":"${signatureR}","signatureS":"${signatureS}","signatureV":"${signatureV}","teamId":"teamId","transactionId":"transactionId"}}`,
    );
    const fullSig = relay.sendServerFrames()[0]?.message as Parameters<typeof verifyFullSig>[1];
    expect(verifyFullSig(V1_PARTIAL, fullSig, cosigner.publicKeyHex).ok).toBe(true);
    expect(events).toEqual(['signed transactionId']);
  });

  it('answers a refusal with SignRefused {ids, code, reason} and does not retry', async () => {
    let calls = 0;
    const backend: SigningBackend = {
      name: 'policy',
      sign: async () => {
        calls += 1;
        return { ok: false, code: 'POLICY', reason: 'team teamId is not allowed' };
      },
    };
    const { relay, events } = await setup(backend);
    relay.last.socket.send(V1_DELIVERY);
    await relay.waitFor(() => relay.sendServerFrames().length === 1, 'the refusal');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const frames = relay.sendServerFrames();
    expect(frames).toEqual([
      {
        action: 'sendServer',
        sourceId: 'cli123',
        operationType: 'SignRefused',
        message: {
          accountHash: 'accountHash',
          teamId: 'teamId',
          transactionId: 'transactionId',
          code: 'POLICY',
          reason: 'team teamId is not allowed',
        } satisfies SignRefusedMessage,
      },
    ]);
    expect(calls).toBe(1);
    expect(events).toEqual(['refused POLICY']);
  });

  it('answers a backend that throws, a backend that hangs, and an invalid PartialSig', async () => {
    const backend: SigningBackend = {
      name: 'flaky',
      sign: async ({ message }) => {
        if (message.transactionId === 'throws') throw new Error('share store offline');
        return new Promise(() => {}); // never answers
      },
    };
    const { relay } = await setup(backend, 50);
    const deliver = (message: unknown) =>
      relay.last.socket.send(JSON.stringify({ operationType: 'PartialSig', from: 'm1', message }));
    deliver({ ...V1_PARTIAL, transactionId: 'throws' });
    deliver({ ...V1_PARTIAL, transactionId: 'hangs' });
    deliver({ teamId: 'teamId', transactionId: 'broken' });
    await relay.waitFor(() => relay.sendServerFrames().length === 3, 'three refusals');
    const refusals = relay.sendServerFrames().map((frame) => frame.message as SignRefusedMessage);
    expect(refusals).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          transactionId: 'throws',
          code: 'BACKEND_FAILURE',
          reason: 'signing backend failed: share store offline',
        }),
        expect.objectContaining({ transactionId: 'hangs', code: 'TIMEOUT' }),
        { teamId: 'teamId', transactionId: 'broken', code: 'INVALID_REQUEST', reason: expect.any(String) },
      ]),
    );
  });
});
