/**
 * Protocol v2 end to end: the library against the real local relay (apps/relay: local gateway +
 * handler bundles + dynalite), real WebSocket connections, port 0.
 */
import { PROTOCOL_V2 } from '@mpc-relay/protocol';
import type { Relay } from '@mpc-relay/relay';
import {
  attachCosigner,
  type Delivery,
  type ExpiredReport,
  type RelayClient,
  type RelayClientOptions,
  SingleKeyCosigner,
} from '@mpc-relay/signer';
import { until } from '@mpc-relay/testing';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { relaySuite } from './relay-suite.js';

const cosigner = SingleKeyCosigner.fromHex(
  '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318',
);
const suite = relaySuite('signer-v2-e2e-');

function relayWith(env: Record<string, string> = {}): Promise<Relay> {
  return suite.relay({ env });
}

function client(relay: Relay, peer: RelayClientOptions['peer'], options: Partial<RelayClientOptions> = {}) {
  return suite.client({ url: relay.url, peer, protocol: 'v2', ...options });
}

async function ready(c: RelayClient): Promise<void> {
  await c.connect();
  await until(() => c.connectionId !== undefined, 'the connection id');
}

/** A bare v2 WebSocket client (sends what the test says, never acks). */
async function rawV2(
  relay: Relay,
  query: string,
): Promise<{ ws: WebSocket; frames: Record<string, unknown>[] }> {
  const ws = new WebSocket(`${relay.url}?${query}`, [PROTOCOL_V2], { headers: { Authorization: 'Allow' } });
  const frames: Record<string, unknown>[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  expect(ws.protocol).toBe(PROTOCOL_V2);
  suite.defer(() => ws.terminate());
  return { ws, frames };
}

const partial = (transactionId: string) => ({
  accountHash: 'accountHash',
  teamId: 'teamId',
  transactionId,
  partialSig: `partial-${transactionId}`,
});

describe('protocol v2 through the local relay', () => {
  it('v2 pair: PartialSig in, FullSig out, both acknowledged; ack results delivered', async () => {
    const relay = await relayWith();
    const signer = client(relay, { type: 'cli', id: 'cli-v2' });
    const mpc = client(relay, { type: 'mpc', id: 'mpc-v2' });
    attachCosigner(signer, cosigner);
    const fullSigs: Delivery[] = [];
    mpc.onOperation('FullSig', (delivery) => fullSigs.push(delivery));
    await Promise.all([ready(signer), ready(mpc)]);
    expect([signer.protocol, mpc.protocol]).toEqual(['v2', 'v2']);
    const result = await mpc.sendWithResult({
      operationType: 'PartialSig',
      cliId: 'cli-v2',
      message: partial('t1'),
    });
    expect(result).toMatchObject({ status: 'delivered', messageId: expect.any(String) });
    await until(() => fullSigs.length === 1, 'the FullSig');
    expect(fullSigs[0]).toMatchObject({ from: 'cli-v2', to: 'mpc-v2', messageId: expect.any(String) });
    expect(Object.keys(JSON.parse(fullSigs[0]?.raw ?? '{}'))).toEqual([
      'operationType',
      'from',
      'to',
      'message',
      'messageId',
      'clientMsgId',
      'sentAt',
    ]);
    await until(() => signer.pendingCount === 0 && mpc.pendingCount === 0, 'both ack results');
  });

  it('a duplicate clientMsgId is suppressed by the relay; the application gets the message once', async () => {
    const relay = await relayWith();
    const signer = client(relay, { type: 'cli', id: 'cli-dup' });
    const got: Delivery[] = [];
    signer.on('message', (delivery) => got.push(delivery));
    await ready(signer);
    const mpc = await rawV2(relay, 'type=mpc&mpcId=mpc-dup');
    const frame = JSON.stringify({
      action: 'sendServer',
      sourceId: 'mpc-dup',
      cliToMpc: { 'cli-dup': 'mpc-dup' },
      operationType: 'Note',
      message: { n: 1 },
      clientMsgId: 'same-id',
    });
    mpc.ws.send(frame);
    await until(() => mpc.frames.length === 1, 'the first ack result');
    mpc.ws.send(frame);
    await until(() => mpc.frames.length === 2, 'the second ack result');
    const [first, second] = mpc.frames as { ack: { messageId: string; status: string } }[];
    expect(first?.ack.status).toBe('delivered');
    expect(second?.ack).toEqual({ ...first?.ack, status: 'duplicate' });
    await until(() => got.length === 1, 'the delivery');
    expect(got.map((delivery) => delivery.clientMsgId)).toEqual(['same-id']);
  });

  it('unacknowledged messages are redelivered, in order, to the next connection', async () => {
    const relay = await relayWith();
    const mpc = client(relay, { type: 'mpc', id: 'mpc-re' });
    await ready(mpc);
    for (const n of [1, 2, 3]) {
      const result = await mpc.sendWithResult({ operationType: 'Note', cliId: 'cli-re', message: { n } });
      expect(result.status).toBe('stored');
    }
    // The first cli closes as soon as it handles the first message: nothing gets acknowledged.
    const first = client(relay, { type: 'cli', id: 'cli-re' });
    const firstSeen: Delivery[] = [];
    first.on('message', (delivery) => {
      firstSeen.push(delivery);
      void first.close();
    });
    await first.connect();
    await until(() => first.state === 'closed', 'the first cli closed');
    expect(firstSeen.length).toBeGreaterThanOrEqual(1);
    const second = client(relay, { type: 'cli', id: 'cli-re' });
    const secondSeen: Delivery[] = [];
    second.on('message', (delivery) => secondSeen.push(delivery));
    await ready(second);
    await until(() => secondSeen.length === 3, 'the redeliveries');
    expect(secondSeen.map((delivery) => (delivery.message as { n: number }).n)).toEqual([1, 2, 3]);
    expect(secondSeen[0]?.messageId).toBe(firstSeen[0]?.messageId);
  });

  it('while connected, an unacknowledged message is resent on the next ping once the delay passed', async () => {
    const relay = await relayWith({ REDELIVERY_DELAY_SECONDS: '0' });
    const mpc = client(relay, { type: 'mpc', id: 'mpc-ping' });
    await ready(mpc);
    const cli = await rawV2(relay, 'type=cli&cliId=cli-ping');
    cli.ws.send('{"action":"getConnectionId","v":2}');
    await until(() => cli.frames.length === 1, 'the connection id');
    await mpc.sendWithResult({ operationType: 'Note', cliId: 'cli-ping', message: { n: 1 } });
    await until(() => cli.frames.length === 2, 'the delivery');
    cli.ws.send('{"action":"ping","v":2}');
    await until(() => cli.frames.length === 4, 'the redelivery and the pong');
    const deliveries = cli.frames.filter((frame) => 'messageId' in frame);
    expect(deliveries).toHaveLength(2);
    expect(deliveries[1]).toEqual(deliveries[0]);
    cli.ws.send(JSON.stringify({ action: 'ack', messageIds: [deliveries[0]?.messageId] }));
    cli.ws.send('{"action":"ping","v":2}');
    await until(() => cli.frames.filter((frame) => 'pong' in frame).length === 2, 'the second pong');
    expect(cli.frames.filter((frame) => 'messageId' in frame)).toHaveLength(2);
  });

  it('an expired message is reported to its connected v2 sender with the clientMsgId', async () => {
    const relay = await relayWith({ INBOX_TTL_SECONDS: '1' });
    const mpc = client(relay, { type: 'mpc', id: 'mpc-exp' });
    const expired: ExpiredReport[] = [];
    mpc.on('expired', (report) => expired.push(report));
    await ready(mpc);
    const result = await mpc.sendWithResult({ operationType: 'Note', cliId: 'cli-exp', message: { n: 1 } });
    expect(result.status).toBe('stored');
    // Wait (at least) until the message is past its expiry: a lower bound, not a timed assertion.
    const past = (Math.floor(Date.now() / 1000) + 2) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, past - Date.now()) + 50));
    const cli = client(relay, { type: 'cli', id: 'cli-exp' });
    const got: Delivery[] = [];
    cli.on('message', (delivery) => got.push(delivery));
    await ready(cli);
    await until(() => expired.length === 1, 'the EXPIRED report');
    expect(expired[0]?.clientMsgId).toBe(result.clientMsgId);
    expect(got).toHaveLength(0);
  });

  it('mixed pair: the original demo cli sees exactly the original demo shapes, the v2 mpc gets envelopes', async () => {
    const relay = await relayWith();
    const signer = client(relay, { type: 'cli', id: 'cli-v1' }, { protocol: 'v1' });
    const mpc = client(relay, { type: 'mpc', id: 'mpc-mixed' });
    attachCosigner(signer, cosigner);
    const partials: Delivery[] = [];
    signer.onOperation('PartialSig', (delivery) => partials.push(delivery));
    const fullSigs: Delivery[] = [];
    mpc.onOperation('FullSig', (delivery) => fullSigs.push(delivery));
    const out: string[] = [];
    signer.on('frameOut', (text) => out.push(text));
    await Promise.all([ready(signer), ready(mpc)]);
    expect([signer.protocol, mpc.protocol]).toEqual(['v1', 'v2']);
    const result = await mpc.sendWithResult({
      operationType: 'PartialSig',
      cliId: 'cli-v1',
      message: partial('m1'),
    });
    expect(result.status).toBe('delivered');
    await until(() => fullSigs.length === 1, 'the FullSig');
    expect(partials[0]?.raw).toBe(
      '{"operationType":"PartialSig","from":"mpc-mixed","message":{"accountHash":"accountHash","teamId":"teamId","transactionId":"m1","partialSig":"partial-m1"}}',
    );
    expect(out[0]).toBe('{"action":"getConnectionId"}');
    expect(Object.keys(JSON.parse(out.find((text) => text.includes('sendServer')) ?? '{}'))).toEqual([
      'action',
      'sourceId',
      'operationType',
      'message',
    ]);
    expect(fullSigs[0]).toMatchObject({ messageId: expect.any(String), from: 'cli-v1', to: 'mpc-mixed' });
    expect(fullSigs[0]?.clientMsgId).toBeUndefined();
  });
});
