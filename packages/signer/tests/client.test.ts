import { until } from '@mpc-relay/testing';
import { describe, expect, it } from 'vitest';
import {
  type BadFrameReport,
  backoffCeiling,
  backoffDelay,
  ClientClosedError,
  type Delivery,
  HandshakeRefusedError,
  InvalidSendError,
  InvalidUrlError,
  type RelayClient,
  type RelayErrorReport,
  RelayUnreachableError,
  type StateChange,
} from '../src/index.js';
import { fakeRelaySuite } from './helpers/suite.js';

/** This suite pins protocol v1's behaviour (v2 and the fallback: v2-client.test.ts). */
const { cleanups, startRelay, makeClient } = fakeRelaySuite({
  peer: { type: 'cli', id: 'cli123' },
  protocol: 'v1',
});

function record(client: RelayClient) {
  const states: StateChange[] = [];
  const messages: Delivery[] = [];
  const badFrames: BadFrameReport[] = [];
  const relayErrors: RelayErrorReport[] = [];
  const errors: Error[] = [];
  client.on('state', (change) => states.push(change));
  client.on('message', (delivery) => messages.push(delivery));
  client.on('badFrame', (report) => badFrames.push(report));
  client.on('relayError', (report) => relayErrors.push(report));
  client.onError((error) => errors.push(error));
  return { states, messages, badFrames, relayErrors, errors };
}

describe('RelayClient: connecting', () => {
  it('connects as a cli with the Authorization header, asks for its connection id', async () => {
    const relay = await startRelay();
    const client = makeClient({ url: relay.url, token: 'Allow' });
    const seen = record(client);
    const ids: string[] = [];
    client.on('connectionId', (id) => ids.push(id));
    await client.connect();
    await until(() => ids.length === 1, 'connection id');
    expect(client.connectionId).toBe('conn-1');
    expect(relay.last.request.headers.authorization).toBe('Allow');
    expect(relay.last.url.pathname).toBe('/production');
    expect(Object.fromEntries(relay.last.url.searchParams)).toEqual({ type: 'cli', cliId: 'cli123' });
    expect(relay.last.frames[0]).toBe('{"action":"getConnectionId"}');
    expect(seen.states.map((s) => s.state)).toEqual(['connecting', 'open']);
  });

  it('connects as an mpc with the token in the query string (no header), default token Allow', async () => {
    const relay = await startRelay();
    const client = makeClient({ url: relay.url, peer: { type: 'mpc', id: 'IgniterC56D' }, tokenIn: 'query' });
    await client.connect();
    expect(relay.last.request.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(relay.last.url.searchParams)).toEqual({
      type: 'mpc',
      mpcId: 'IgniterC56D',
      token: 'Allow',
    });
    expect(client.displayUrl).toContain('token=***');
  });

  it('refuses a bad URL with a typed error, before any connection', () => {
    expect(() => makeClient({ url: 'http://localhost:1/x' })).toThrow(InvalidUrlError);
    expect(() => makeClient({ url: 'not a url' })).toThrow(InvalidUrlError);
    expect(() => makeClient({ url: 'ws://localhost:1', peer: { type: 'cli', id: 'bad id!' } })).toThrow(
      InvalidSendError,
    );
  });

  for (const status of [401, 403]) {
    it(`reports a ${status} handshake refusal as a typed error and does not retry`, async () => {
      const relay = await startRelay({ refuseWith: () => status });
      const client = makeClient({ url: relay.url });
      const seen = record(client);
      const error = await client.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(HandshakeRefusedError);
      expect((error as HandshakeRefusedError).statusCode).toBe(status);
      expect(client.state).toBe('closed');
      expect(client.terminalError).toBe(error);
      expect(seen.errors).toEqual([error]);
      expect(seen.states.map((s) => s.state)).toEqual(['connecting', 'closed']);
      // No retry loop: give it the time of several backoff rounds, one attempt only.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(relay.upgradeAttempts).toBe(1);
    });
  }

  it('retries a 5xx handshake answer (the relay may be starting)', async () => {
    let refusals = 2;
    const relay = await startRelay({ refuseWith: () => (refusals-- > 0 ? 503 : undefined) });
    const client = makeClient({ url: relay.url });
    await client.connect();
    expect(relay.upgradeAttempts).toBe(3);
  });
});

describe('RelayClient: backoff', () => {
  it('computes bounded exponential ceilings with full jitter', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 };
    expect([1, 2, 3, 4, 5, 6, 50, 5000].map((n) => backoffCeiling(n, options))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000, 1000,
    ]);
    expect(backoffDelay(3, options, () => 0)).toBe(0);
    expect(backoffDelay(3, options, () => 0.5)).toBe(200);
    for (let attempt = 1; attempt < 100; attempt++) {
      const delay = backoffDelay(attempt, options);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(1000);
    }
  });

  it('backs off within bounds while the relay is unreachable, then gives up after maxAttempts', async () => {
    const relay = await startRelay();
    const url = relay.url;
    await relay.stop();
    cleanups.pop();
    const client = makeClient({
      url,
      reconnect: { initialDelayMs: 10, maxDelayMs: 40, multiplier: 2, maxAttempts: 5 },
      random: () => 0.999,
    });
    const seen = record(client);
    const error = await client.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RelayUnreachableError);
    expect((error as RelayUnreachableError).attempts).toBe(6);
    const delays = seen.states.filter((s) => s.state === 'reconnecting').map((s) => s.delayMs);
    expect(delays).toEqual([9, 19, 39, 39, 39]);
    expect(seen.states.at(-1)?.state).toBe('closed');
  });

  it('fails at once on an unreachable relay when retryInitialConnect is false', async () => {
    const relay = await startRelay();
    const url = relay.url;
    await relay.stop();
    cleanups.pop();
    const client = makeClient({ url, reconnect: { retryInitialConnect: false } });
    await expect(client.connect()).rejects.toBeInstanceOf(RelayUnreachableError);
    expect(client.state).toBe('closed');
  });
});

describe('RelayClient: sending and the outbox', () => {
  it('builds the original demo sendServer frames: cli without cliToMpc, mpc with {cliId: ownId}', async () => {
    const relay = await startRelay();
    const cli = makeClient({ url: relay.url });
    const mpc = makeClient({ url: relay.url, peer: { type: 'mpc', id: 'IgniterC56D' } });
    await cli.connect();
    await mpc.connect();
    const message = { accountHash: 'accountHash', teamId: 'teamId', transactionId: 'transactionId' };
    await mpc.send({
      operationType: 'PartialSig',
      cliId: 'cli123',
      message: { ...message, partialSig: 'p' },
    });
    await cli.send({ operationType: 'custom.op', message: { hello: 1 } });
    await relay.waitFor(() => relay.sendServerFrames().length === 2, 'two frames');
    const texts = relay.connections.flatMap((c) => c.frames).filter((t) => t.includes('sendServer'));
    expect(texts).toContain(
      '{"action":"sendServer","sourceId":"IgniterC56D","cliToMpc":{"cli123":"IgniterC56D"},"operationType":"PartialSig","message":{"accountHash":"accountHash","teamId":"teamId","transactionId":"transactionId","partialSig":"p"}}',
    );
    expect(texts).toContain(
      '{"action":"sendServer","sourceId":"cli123","operationType":"custom.op","message":{"hello":1}}',
    );
  });

  it('validates before queueing: missing/forbidden cliId, invalid known messages, oversize frames', async () => {
    const relay = await startRelay();
    const cli = makeClient({ url: relay.url });
    const mpc = makeClient({ url: relay.url, peer: { type: 'mpc', id: 'm1' } });
    expect(() => mpc.send({ operationType: 'x', message: {} })).toThrow(InvalidSendError);
    expect(() => cli.send({ operationType: 'x', message: {}, cliId: 'c' })).toThrow(InvalidSendError);
    expect(() => cli.send({ operationType: 'FullSig', message: { teamId: 1 } })).toThrow(/FullSig/);
    // Over one frame: protocol v1 refuses it; v2 would send it as fragments (fragments.test.ts).
    const v1 = makeClient({ url: relay.url, protocol: 'v1' });
    expect(() => v1.send({ operationType: 'x', message: 'y'.repeat(40_000) })).toThrow(/32768/);
    expect(() => cli.send({ operationType: 'bad type!', message: {} })).toThrow(InvalidSendError);
    expect(cli.pendingCount).toBe(0);
  });

  it('queues what is sent while disconnected and writes it once, in order, after the reconnect', async () => {
    const relay = await startRelay();
    const client = makeClient({ url: relay.url });
    const seen = record(client);
    await client.connect();
    for (let i = 0; i < 3; i++) await client.send({ operationType: 'seq', message: { n: i } });
    await relay.waitFor(() => relay.sendServerFrames().length === 3, 'first frames');

    // While the client waits to reconnect, queue more: they must wait in the outbox.
    let pendingWhileDown = -1;
    const queuedDuringOutage = new Promise<Promise<void>[]>((resolve) => {
      const off = client.on('state', (change) => {
        if (change.state !== 'reconnecting') return;
        off();
        const sends: Promise<void>[] = [];
        for (let i = 3; i < 8; i++) sends.push(client.send({ operationType: 'seq', message: { n: i } }));
        pendingWhileDown = client.pendingCount;
        resolve(sends);
      });
    });
    relay.dropAll();
    const sends = await queuedDuringOutage;
    expect(pendingWhileDown).toBe(5);
    await Promise.all(sends);
    await relay.waitFor(() => relay.sendServerFrames().length >= 8, 'all frames');
    await new Promise((resolve) => setTimeout(resolve, 100)); // a duplicate would show up here

    const numbers = relay.sendServerFrames().map((frame) => (frame.message as { n: number }).n);
    expect(numbers).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(relay.connections).toHaveLength(2);
    expect(relay.connections[1]?.frames[0]).toBe('{"action":"getConnectionId"}');
    expect(client.connectionId).toBe('conn-2');
    expect(seen.states.map((s) => s.state)).toEqual([
      'connecting',
      'open',
      'reconnecting',
      'connecting',
      'open',
    ]);
    expect(client.pendingCount).toBe(0);
  });

  it('keeps frames sent before the first connection and writes them once connected', async () => {
    const relay = await startRelay();
    const client = makeClient({ url: relay.url });
    const sent = client.send({ operationType: 'early', message: 1 });
    expect(client.pendingCount).toBe(1);
    await client.connect();
    await sent;
    await relay.waitFor(() => relay.sendServerFrames().length === 1, 'early frame');
  });

  it('close() stops reconnecting and rejects what is still queued', async () => {
    const relay = await startRelay();
    const url = relay.url;
    const client = makeClient({ url, reconnect: { initialDelayMs: 50, maxDelayMs: 100 } });
    const seen = record(client);
    await client.connect();
    await relay.stop();
    cleanups.pop();
    await until(() => client.state === 'reconnecting', 'reconnecting');
    const pending = client.send({ operationType: 'late', message: 1 });
    await client.close();
    await expect(pending).rejects.toBeInstanceOf(ClientClosedError);
    await expect(client.send({ operationType: 'later', message: 1 })).rejects.toBeInstanceOf(
      ClientClosedError,
    );
    expect(client.state).toBe('closed');
    expect(seen.states.at(-1)?.reason).toMatch(/1 queued frame\(s\) dropped/);
    const count = seen.states.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen.states.length).toBe(count);
  });

  it('connect() after close() rejects instead of hanging', async () => {
    const client = makeClient({ url: 'ws://127.0.0.1:1/x' });
    await client.close();
    await expect(client.connect()).rejects.toBeInstanceOf(ClientClosedError);
  });
});

describe('RelayClient: receiving', () => {
  it('dispatches deliveries by operation type, reports relay and gateway errors', async () => {
    const relay = await startRelay();
    const client = makeClient({ url: relay.url });
    const seen = record(client);
    const partials: Delivery[] = [];
    client.onOperation('PartialSig', (delivery) => partials.push(delivery));
    await client.connect();
    const delivery = '{"operationType":"PartialSig","from":"IgniterC56D","message":{"a":1}}';
    relay.last.socket.send(delivery);
    relay.last.socket.send('{"operationType":"other","from":"IgniterC56D","to":"cli123","message":2}');
    relay.last.socket.send('{"error":{"code":"NO_MAPPING","message":"no mpc contacted you"}}');
    relay.last.socket.send('{"message":"Forbidden","connectionId":"x","requestId":"y"}');
    await until(() => seen.relayErrors.length === 2 && seen.messages.length === 2, 'frames');
    expect(partials).toEqual([
      { operationType: 'PartialSig', from: 'IgniterC56D', message: { a: 1 }, raw: delivery },
    ]);
    expect(seen.messages[1]).toMatchObject({ operationType: 'other', to: 'cli123', message: 2 });
    expect(seen.relayErrors[0]).toMatchObject({ source: 'relay', code: 'NO_MAPPING' });
    expect(seen.relayErrors[1]).toMatchObject({ source: 'gateway', message: 'Forbidden' });
  });

  it('reports bad frames and keeps going: not JSON, unknown shapes, binary, invalid fields', async () => {
    const relay = await startRelay();
    const client = makeClient({ url: relay.url });
    const seen = record(client);
    await client.connect();
    relay.last.socket.send('not json');
    relay.last.socket.send('[1,2]');
    relay.last.socket.send('{"foo":1}');
    relay.last.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    relay.last.socket.send('{"operationType":"x","from":"bad id!","message":1}');
    relay.last.socket.send('{"error":"just text"}');
    relay.last.socket.send('{"operationType":"ok","from":"m1","message":1}');
    await until(() => seen.messages.length === 1, 'the valid frame after the bad ones');
    expect(seen.badFrames.map((b) => b.code)).toEqual([
      'INVALID_JSON',
      'INVALID_JSON',
      'INVALID_FRAME',
      'BINARY_FRAME',
      'INVALID_FRAME',
      'INVALID_FRAME',
    ]);
    expect(seen.badFrames[0]?.raw).toBe('not json');
    expect(client.state).toBe('open');
  });

  it('isolates a listener that throws: reported as an error event, the client keeps working', async () => {
    const relay = await startRelay();
    const client = makeClient({ url: relay.url });
    const seen = record(client);
    client.on('message', () => {
      throw new Error('boom');
    });
    await client.connect();
    relay.last.socket.send('{"operationType":"a","from":"m1","message":1}');
    relay.last.socket.send('{"operationType":"b","from":"m1","message":2}');
    await until(() => seen.messages.length === 2, 'both messages');
    expect(seen.errors.map((e) => e.message)).toEqual([
      "a 'message' listener threw: boom",
      "a 'message' listener threw: boom",
    ]);
  });
});

describe('RelayClient: keepalive and connection lifetime', () => {
  it('sends WebSocket pings and application pings, and reads the pong', async () => {
    const relay = await startRelay();
    const client = makeClient({ url: relay.url, keepalive: { pingIntervalMs: 30, appPingIntervalMs: 30 } });
    const pongs: number[] = [];
    client.on('pong', (at) => pongs.push(at));
    await client.connect();
    await relay.waitFor(
      () => relay.last.pings >= 2 && relay.last.frames.filter((f) => f === '{"action":"ping"}').length >= 2,
      'pings',
    );
    await until(() => pongs.length >= 1, 'a pong');
  });

  it('declares a silent connection dead and reconnects', async () => {
    const relay = await startRelay({ autoPong: false, answer: false });
    const client = makeClient({ url: relay.url, keepalive: { pingIntervalMs: 30, appPingIntervalMs: 0 } });
    const seen = record(client);
    await client.connect();
    await relay.waitFor(() => relay.connections.length >= 2, 'a second connection');
    expect(seen.states.some((s) => s.state === 'reconnecting')).toBe(true);
  });

  it('reconnects proactively before the connection lifetime ends, losing nothing', async () => {
    const relay = await startRelay();
    const client = makeClient({ url: relay.url, maxConnectionAgeMs: 150 });
    const seen = record(client);
    await client.connect();
    await relay.waitFor(() => relay.connections.length >= 2, 'a second connection');
    const proactive = seen.states.find((s) => s.state === 'reconnecting');
    expect(proactive?.reason).toMatch(/proactive/);
    expect(proactive?.delayMs).toBe(0);
    await client.send({ operationType: 'after', message: 1 });
    await relay.waitFor(() => relay.sendServerFrames().length === 1, 'frame after proactive reconnect');
    expect(relay.connections[0]?.socket.readyState).not.toBe(1);
  });
});
