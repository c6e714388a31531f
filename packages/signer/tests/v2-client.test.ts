/**
 * Protocol v2 in the library (the default), against a fake relay the tests control (the exchanges
 * with the real relay are in apps/signer/tests/v2-e2e.test.ts).
 */

import { type FakeConnection, until } from '@mpc-relay/testing';
import { describe, expect, it } from 'vitest';
import {
  type Delivery,
  type ExpiredReport,
  SendRefusedError,
  type SendResult,
  TokenExpiredError,
} from '../src/index.js';
import { fakeRelaySuite } from './helpers/suite.js';

const { startRelay, makeClient } = fakeRelaySuite({ peer: { type: 'mpc', id: 'IgniterC56D' } });

const json = (text: string) => JSON.parse(text) as Record<string, unknown>;
const sendServers = (connection: FakeConnection) =>
  connection.frames.map(json).filter((frame) => frame.action === 'sendServer');
const acks = (connection: FakeConnection) =>
  connection.frames
    .map(json)
    .filter((frame) => frame.action === 'ack')
    .flatMap((frame) => frame.messageIds as string[]);

const v2Delivery = (messageId: string, n: number) =>
  JSON.stringify({
    operationType: 'FullSig',
    from: 'cli123',
    to: 'IgniterC56D',
    message: { n },
    messageId,
    clientMsgId: `their-${n}`,
    sentAt: 1,
  });

describe('RelayClient protocol v2', () => {
  it('offers mpc-relay.v2 by default; when echoed: marked getConnectionId, clientMsgId on sends, settles on the ack result', async () => {
    const relay = await startRelay({
      v2: true,
      onFrame: (connection, text) => {
        const frame = json(text);
        if (frame.action === 'sendServer') {
          connection.socket.send(
            JSON.stringify({ ack: { clientMsgId: frame.clientMsgId, messageId: 'm-1', status: 'stored' } }),
          );
        }
      },
    });
    const client = makeClient({ url: relay.url });
    await client.connect();
    expect(client.protocol).toBe('v2');
    expect(relay.last.protocol).toBe('mpc-relay.v2');
    expect(relay.last.request.headers['sec-websocket-protocol']).toBe('mpc-relay.v2');
    const result = await client.sendWithResult({ operationType: 'Note', cliId: 'cli123', message: { a: 1 } });
    expect(result).toEqual({ clientMsgId: expect.any(String), status: 'stored', messageId: 'm-1' });
    expect(relay.last.frames[0]).toBe('{"action":"getConnectionId","v":2}');
    expect(sendServers(relay.last)).toEqual([
      {
        action: 'sendServer',
        sourceId: 'IgniterC56D',
        cliToMpc: { cli123: 'IgniterC56D' },
        operationType: 'Note',
        message: { a: 1 },
        clientMsgId: result.clientMsgId,
      },
    ]);
    expect(client.pendingCount).toBe(0);
  });

  it('falls back to protocol v1 when the relay does not echo the subprotocol, and stays there', async () => {
    const relay = await startRelay({ v2: false });
    const client = makeClient({ url: relay.url });
    const reasons: string[] = [];
    client.on('state', (change) => change.state === 'reconnecting' && reasons.push(change.reason ?? ''));
    await client.connect();
    await until(
      () => relay.connections.length === 2 && relay.last.frames.length > 0,
      'the original demo connection',
    );
    expect(client.protocol).toBe('v1');
    expect(reasons).toEqual(['the relay does not speak protocol v2: falling back to protocol v1']);
    expect(relay.connections[0]?.request.headers['sec-websocket-protocol']).toBe('mpc-relay.v2');
    expect(relay.last.request.headers['sec-websocket-protocol']).toBeUndefined();
    const result = await client.sendWithResult({ operationType: 'Note', cliId: 'cli123', message: {} });
    expect(result.status).toBe('written');
    expect(relay.last.frames[0]).toBe('{"action":"getConnectionId"}');
    await until(() => sendServers(relay.last).length === 1, 'the send');
    expect(Object.keys(sendServers(relay.last)[0] ?? {})).toEqual([
      'action',
      'sourceId',
      'cliToMpc',
      'operationType',
      'message',
    ]);
    // A later reconnect does not offer v2 again (one relay, one answer).
    relay.dropAll();
    await until(() => relay.connections.length === 3 && relay.last.frames.length > 0, 'the reconnect');
    expect(relay.last.request.headers['sec-websocket-protocol']).toBeUndefined();
    expect(reasons).toHaveLength(2);
  });

  it("protocol: 'v1' never offers the subprotocol, even to a relay that speaks v2", async () => {
    const relay = await startRelay({ v2: true });
    const client = makeClient({ url: relay.url, protocol: 'v1' });
    await client.connect();
    expect(client.protocol).toBe('v1');
    expect(relay.connections).toHaveLength(1);
    expect(relay.last.request.headers['sec-websocket-protocol']).toBeUndefined();
    expect(
      (await client.sendWithResult({ operationType: 'Note', cliId: 'cli123', message: {} })).status,
    ).toBe('written');
  });

  it('resends unacknowledged frames after a reconnect with the same clientMsgId, in order', async () => {
    let answer = false;
    const relay = await startRelay({
      v2: true,
      onFrame: (connection, text) => {
        const frame = json(text);
        if (answer && frame.action === 'sendServer') {
          connection.socket.send(
            JSON.stringify({
              ack: {
                clientMsgId: frame.clientMsgId,
                messageId: `m-${frame.clientMsgId}`,
                status: 'delivered',
              },
            }),
          );
        }
      },
    });
    const client = makeClient({ url: relay.url });
    await client.connect();
    const sends = [1, 2, 3].map((n) =>
      client.sendWithResult({ operationType: 'seq', cliId: 'cli123', message: { n } }),
    );
    await until(() => sendServers(relay.last).length === 3, 'three frames written');
    const firstIds = sendServers(relay.last).map((frame) => frame.clientMsgId);
    expect(client.pendingCount).toBe(3); // written, not acknowledged
    answer = true;
    relay.dropAll();
    const results = await Promise.all(sends);
    expect(relay.connections.length).toBeGreaterThanOrEqual(2);
    expect(sendServers(relay.last).map((frame) => frame.clientMsgId)).toEqual(firstIds);
    expect(sendServers(relay.last).map((frame) => (frame.message as { n: number }).n)).toEqual([1, 2, 3]);
    expect(results.map((result) => result.status)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('acks each delivery after the handler took it and drops redeliveries by messageId', async () => {
    const relay = await startRelay({ v2: true });
    const client = makeClient({ url: relay.url });
    const seen: Delivery[] = [];
    const duplicates: Delivery[] = [];
    let acksWhenHandled = -1;
    client.on('message', (delivery) => {
      acksWhenHandled = acks(relay.last).length;
      seen.push(delivery);
    });
    client.on('duplicate', (delivery) => duplicates.push(delivery));
    await client.connect();
    relay.last.socket.send(v2Delivery('m-1', 1));
    relay.last.socket.send(v2Delivery('m-1', 1));
    relay.last.socket.send(v2Delivery('m-2', 2));
    await until(() => acks(relay.last).length === 3, 'three acks');
    expect(acksWhenHandled).toBe(0);
    expect(seen.map((delivery) => delivery.messageId)).toEqual(['m-1', 'm-2']);
    expect(seen[0]).toMatchObject({
      operationType: 'FullSig',
      from: 'cli123',
      to: 'IgniterC56D',
      clientMsgId: 'their-1',
      sentAt: 1,
    });
    expect(duplicates.map((delivery) => delivery.messageId)).toEqual(['m-1']);
    // Duplicates are acknowledged again (the relay resent because our ack was lost).
    expect(acks(relay.last).sort()).toEqual(['m-1', 'm-1', 'm-2']);
  });

  it('close() right after a delivery still acknowledges it (no redelivery to the next process)', async () => {
    const relay = await startRelay({ v2: true });
    const client = makeClient({ url: relay.url });
    const closed = new Promise<void>((resolve) => {
      // As an application does when the message it waited for arrives: close in a continuation.
      client.on('message', () => queueMicrotask(() => void client.close().then(resolve)));
    });
    await client.connect();
    const connection = relay.last;
    connection.socket.send(v2Delivery('m-last', 1));
    await closed;
    await relay.waitFor(() => acks(connection).length === 1, 'the ack');
    expect(acks(connection)).toEqual(['m-last']);
  });

  it('the dedupe memory is bounded (oldest ids forgotten first)', async () => {
    const relay = await startRelay({ v2: true });
    const client = makeClient({ url: relay.url, dedupeCacheSize: 2 });
    const seen: string[] = [];
    client.on('message', (delivery) => seen.push(delivery.messageId ?? ''));
    await client.connect();
    for (const id of ['a', 'b', 'c', 'a', 'c']) relay.last.socket.send(v2Delivery(id, 0));
    await until(() => acks(relay.last).length === 5, 'five acks');
    expect(seen).toEqual(['a', 'b', 'c', 'a']);
  });

  it('surfaces EXPIRED with the clientMsgId; refusals reject the send; INTERNAL is retried', async () => {
    let internalOnce = true;
    const relay = await startRelay({
      v2: true,
      onFrame: (connection, text) => {
        const frame = json(text);
        if (frame.action !== 'sendServer') return;
        const clientMsgId = frame.clientMsgId as string;
        const operationType = frame.operationType as string;
        const error = (code: string) =>
          connection.socket.send(
            JSON.stringify({
              error: { code, message: code.toLowerCase(), action: 'sendServer', clientMsgId },
            }),
          );
        if (operationType === 'refused') error('NO_MAPPING');
        else if (operationType === 'flaky' && internalOnce) {
          internalOnce = false;
          error('INTERNAL');
        } else {
          connection.socket.send(JSON.stringify({ ack: { clientMsgId, messageId: 'm', status: 'stored' } }));
          if (operationType === 'expiring') error('EXPIRED');
        }
      },
    });
    const client = makeClient({ url: relay.url });
    const expired: ExpiredReport[] = [];
    client.on('expired', (report) => expired.push(report));
    await client.connect();
    const stored = await client.sendWithResult({ operationType: 'expiring', cliId: 'cli123', message: {} });
    await until(() => expired.length === 1, 'the EXPIRED report');
    expect(expired[0]).toMatchObject({ clientMsgId: stored.clientMsgId, message: 'expired' });
    const refused = client.sendWithResult({ operationType: 'refused', cliId: 'cli123', message: {} });
    await expect(refused).rejects.toBeInstanceOf(SendRefusedError);
    await expect(refused).rejects.toMatchObject({ relayCode: 'NO_MAPPING' });
    const flaky: SendResult = await client.sendWithResult({
      operationType: 'flaky',
      cliId: 'cli123',
      message: {},
    });
    expect(flaky.status).toBe('stored');
    const flakyFrames = sendServers(relay.last).filter((frame) => frame.operationType === 'flaky');
    expect(flakyFrames.map((frame) => frame.clientMsgId)).toEqual([flaky.clientMsgId, flaky.clientMsgId]);
    expect(client.pendingCount).toBe(0);
  });

  it('TOKEN_EXPIRED: reported on onError as a terminal TokenExpiredError, no reconnect with the same token, the send is not "refused"', async () => {
    const relay = await startRelay({
      v2: true,
      onFrame: (connection, text) => {
        if (json(text).action !== 'sendServer') return;
        // What the relay does: the error frame (no clientMsgId), then DeleteConnection.
        connection.socket.send(
          JSON.stringify({
            error: { code: 'TOKEN_EXPIRED', message: 'your token expired', action: 'sendServer' },
          }),
        );
        connection.socket.close(1000);
      },
    });
    const client = makeClient({ url: relay.url });
    const errors: Error[] = [];
    client.onError((error) => errors.push(error));
    await client.connect();
    const sent = client.send({ operationType: 'Note', cliId: 'cli123', message: {} }).then(
      () => undefined,
      (error: unknown) => error,
    );
    await until(() => client.state === 'closed', 'the client stops');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TokenExpiredError);
    expect((errors[0] as TokenExpiredError).code).toBe('TOKEN_EXPIRED');
    expect(client.terminalError).toBe(errors[0]);
    const rejection = await sent;
    expect(rejection).not.toBeInstanceOf(SendRefusedError);
    expect(rejection).toBeInstanceOf(Error);
    // No retry loop: a while later, still the one connection.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(relay.upgradeAttempts).toBe(1);
  });

  it('v2 app pings carry the marker (the redelivery timer)', async () => {
    const relay = await startRelay({ v2: true });
    const client = makeClient({ url: relay.url, redeliveryCheckMs: 30 });
    await client.connect();
    await until(() => relay.last.frames.includes('{"action":"ping","v":2}'), 'a marked ping');
  });

  it('the v2 redelivery ping goes out while the client keeps sending (sends do not postpone it)', async () => {
    const relay = await startRelay({
      v2: true,
      onFrame: (connection, text) => {
        const frame = json(text);
        if (frame.action === 'sendServer') {
          connection.socket.send(
            JSON.stringify({ ack: { clientMsgId: frame.clientMsgId, messageId: 'm-x', status: 'stored' } }),
          );
        }
      },
    });
    // The idle app ping (keepalive) is far away; only the redelivery timer can ping.
    const client = makeClient({
      url: relay.url,
      redeliveryCheckMs: 60,
      keepalive: { pingIntervalMs: 0, appPingIntervalMs: 600_000 },
    });
    await client.connect();
    const pinged = () => relay.last.frames.includes('{"action":"ping","v":2}');
    for (let n = 0; n < 500 && !pinged(); n++) {
      await client.send({ operationType: 'Note', cliId: 'cli123', message: { n } });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(pinged()).toBe(true);
    expect(sendServers(relay.last).length).toBeGreaterThan(0);
  });
});
