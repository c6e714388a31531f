import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalGateway } from '../src/index.js';
import { ALLOW, fixtureGateway, recorded, signedFetch, TestClient, waitFor } from './helpers.js';

let gateway: LocalGateway;
beforeAll(async () => {
  gateway = await fixtureGateway();
});
afterAll(async () => {
  await gateway?.close();
});

const disconnectOf = (connectionId: string) =>
  waitFor(
    () => recorded('disconnect').find((e) => e.requestContext.connectionId === connectionId),
    `$disconnect of ${connectionId}`,
  );

async function openTracked(gw: LocalGateway, tag: string): Promise<{ client: TestClient; id: string }> {
  const client = await TestClient.open(`${gw.url}?tag=${tag}`, { headers: ALLOW });
  const id = recorded('connect').find((e) => e.queryStringParameters?.tag === tag)!.requestContext
    .connectionId;
  return { client, id };
}

/** Sends one text message as several frames of `frameBytes`. */
function sendFragmented(client: TestClient, text: string, frameBytes: number): void {
  const data = Buffer.from(text);
  for (let offset = 0; offset < data.length; offset += frameBytes) {
    const end = Math.min(offset + frameBytes, data.length);
    client.ws.send(data.subarray(offset, end), { binary: false, fin: end === data.length });
  }
}

describe('frame and message limits', () => {
  it('a single frame above 32 KB closes the connection with 1009', async () => {
    const { client, id } = await openTracked(gateway, 'bigframe');
    client.send(JSON.stringify({ action: 'echo', pad: 'x'.repeat(33_000) }));
    expect((await client.waitClosed()).code).toBe(1009);
    const disconnect = await disconnectOf(id);
    expect(disconnect.requestContext.disconnectStatusCode).toBe(1009);
  });

  it('a frame of exactly 32 KB is accepted', async () => {
    const { client } = await openTracked(gateway, 'frame32k');
    const prefix = '{"action":"slow","ms":0,"seq":7,"pad":"';
    const text = `${prefix}${'y'.repeat(32_768 - prefix.length - 2)}"}`;
    expect(Buffer.byteLength(text)).toBe(32_768);
    client.send(text);
    expect(await client.nextJson()).toEqual({ seq: 7 });
    client.close();
  });

  it('a message up to 128 KB sent in frames of at most 32 KB is accepted', async () => {
    const { client } = await openTracked(gateway, 'bigmsg');
    const text = JSON.stringify({ action: 'slow', ms: 0, seq: 8, pad: 'z'.repeat(120_000) });
    sendFragmented(client, text, 32_768);
    expect(await client.nextJson()).toEqual({ seq: 8 });
    client.close();
  });

  it('a message above 128 KB (in small frames) closes the connection with 1009', async () => {
    const { client, id } = await openTracked(gateway, 'toobig');
    const text = JSON.stringify({ action: 'slow', ms: 0, seq: 9, pad: 'z'.repeat(131_100) });
    sendFragmented(client, text, 32_000);
    expect((await client.waitClosed()).code).toBe(1009);
    expect((await disconnectOf(id)).requestContext.disconnectStatusCode).toBe(1009);
  });

  it('a binary frame closes the connection with 1003', async () => {
    const { client, id } = await openTracked(gateway, 'binary');
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.waitClosed()).code).toBe(1003);
    expect((await disconnectOf(id)).requestContext.disconnectStatusCode).toBe(1003);
  });

  it('a post above 32 KB reaches the client whole (sent as 32 KB frames)', async () => {
    const { client, id } = await openTracked(gateway, 'bigpost');
    const text = 'p'.repeat(100_000);
    const res = await signedFetch(
      gateway,
      `${gateway.managementEndpoint}/@connections/${encodeURIComponent(id)}`,
      {
        method: 'POST',
        body: text,
      },
    );
    expect(res.status).toBe(200);
    expect(await client.next()).toBe(text);
    client.close();
  });
});

describe('timeouts', () => {
  it('an idle connection is closed with 1001 Going away', async () => {
    const gw = await fixtureGateway({ limits: { idleTimeoutMs: 300 } });
    try {
      const { client, id } = await openTracked(gw, 'idle');
      expect(await client.waitClosed()).toEqual({ code: 1001, reason: 'Going away' });
      const disconnect = await disconnectOf(id);
      expect(disconnect.requestContext.disconnectStatusCode).toBe(1001);
      expect(disconnect.requestContext.disconnectReason).toBe('Going away');
    } finally {
      await gw.close();
    }
  });

  it('data frames reset the idle timeout', async () => {
    const gw = await fixtureGateway({ limits: { idleTimeoutMs: 1_500 } });
    try {
      const { client } = await openTracked(gw, 'busy');
      // 3 s of traffic every 100 ms: twice the idle timeout, the connection stays open.
      for (let i = 0; i < 30; i++) {
        client.send({ action: 'oneway' });
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(client.closed).toBeUndefined();
      // Then silence: the idle timeout closes it.
      expect((await client.waitClosed()).code).toBe(1001);
    } finally {
      await gw.close();
    }
  });

  it('ping frames do not reset the idle timeout (only data frames do)', async () => {
    const gw = await fixtureGateway({ limits: { idleTimeoutMs: 500 } });
    try {
      const { client } = await openTracked(gw, 'pings');
      for (let i = 0; i < 100 && !client.closed; i++) {
        client.ws.ping();
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(client.closed).toEqual({ code: 1001, reason: 'Going away' });
    } finally {
      await gw.close();
    }
  });

  it('a connection is closed after its maximum lifetime even when busy (1001 Going away)', async () => {
    const gw = await fixtureGateway({ limits: { maxLifetimeMs: 800 } });
    try {
      const { client, id } = await openTracked(gw, 'lifetime');
      for (let i = 0; i < 100 && !client.closed; i++) {
        client.send({ action: 'oneway' });
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await client.waitClosed()).toEqual({ code: 1001, reason: 'Going away' });
      expect((await disconnectOf(id)).requestContext.disconnectStatusCode).toBe(1001);
    } finally {
      await gw.close();
    }
  });

  it('a client that never answers the close frame is dropped after closeTimeoutMs; its $disconnect runs', async () => {
    const gw = await fixtureGateway({ limits: { idleTimeoutMs: 200, closeTimeoutMs: 300 } });
    try {
      const { client, id } = await openTracked(gw, 'unresponsive');
      // It stops reading, so it never sees the idle close frame nor answers it.
      (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      // waitFor gives up after 10 s, long before the default 30 s would drop it.
      const disconnect = await disconnectOf(id);
      expect(disconnect.requestContext.disconnectStatusCode).toBe(1001);
      expect(gw.connections().map((c) => c.connectionId)).not.toContain(id);
    } finally {
      await gw.close();
    }
  });

  it('closing the gateway closes open connections with 1001 and runs their $disconnect', async () => {
    const gw = await fixtureGateway();
    const { client, id } = await openTracked(gw, 'shutdown');
    await gw.close();
    expect((await client.waitClosed()).code).toBe(1001);
    expect((await disconnectOf(id)).requestContext.disconnectStatusCode).toBe(1001);
  });
});
