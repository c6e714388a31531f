import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { KEY } from '../src/store/keys.js';
import { useHarness } from './helpers/harness.js';
import { useLogCapture } from './helpers/logs.js';

describe('broadcast (invoked directly, like the original demo sendMessage)', () => {
  const harness = useHarness();
  const logs = useLogCapture();

  it('sends to every live connection of both types', async () => {
    const clis = [
      await harness.relay.connect({ type: 'cli', id: 'c1' }),
      await harness.relay.connect({ type: 'cli', id: 'c2' }),
    ];
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'm1' });
    // The original demo's invocation payload, verbatim except for the endpoint.
    const result = await harness.relay.handlers.broadcast({
      action: 'sendmessage',
      message: 'Hello from CLI!',
      apigw_endpoint: harness.management.endpoint,
    } as never);
    expect(result).toEqual({ sent: 3, stale: 0, failed: 0 });
    const expected = JSON.stringify({
      operationType: 'broadcast',
      from: 'relay',
      message: 'Hello from CLI!',
    });
    for (const client of [...clis, mpc]) expect(client.received()).toEqual([expected]);
  });

  it('refuses an apigw_endpoint other than the configured one: nothing is sent anywhere', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'c1' });
    // A sink standing where an attacker would point the function.
    const sunk: string[] = [];
    const sink = createServer((req, res) => {
      sunk.push(`${req.method} ${req.url}`);
      req.resume();
      res.end();
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const foreign = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/stolen`;
    logs.capture();
    try {
      const refused = await harness.relay.handlers.broadcast({ message: 'x', apigw_endpoint: foreign });
      expect(refused).toMatchObject({ sent: 0, stale: 0, failed: 0 });
      expect(refused.error).toContain(
        `"apigw_endpoint" "${foreign}" is not this relay's management endpoint`,
      );
      const refusal = logs.lines
        .map((line) => JSON.parse(line))
        .find((l) => l.message === 'broadcast refused');
      expect(refusal).toMatchObject({ reason: 'foreign apigw_endpoint', apigwEndpoint: foreign });
      // The configured endpoint, spelt with a trailing slash, is the same endpoint: accepted.
      const accepted = await harness.relay.handlers.broadcast({
        message: 'after',
        apigw_endpoint: `${harness.management.endpoint}/`,
      });
      expect(accepted).toEqual({ sent: 1, stale: 0, failed: 0 });
    } finally {
      await new Promise<void>((resolve) => sink.close(() => resolve()));
    }
    expect(sunk).toEqual([]);
    expect(cli.received()).toEqual([
      JSON.stringify({ operationType: 'broadcast', from: 'relay', message: 'after' }),
    ]);
  });

  it('sends to one type only, with the given operation type', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'c1' });
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'm1' });
    const result = await harness.relay.handlers.broadcast({
      type: 'mpc',
      operationType: 'Maintenance',
      message: { at: '2026-01-01T00:00:00Z' },
    });
    expect(result).toEqual({ sent: 1, stale: 0, failed: 0 });
    expect(cli.received()).toEqual([]);
    expect(JSON.parse(mpc.received()[0] ?? '{}')).toEqual({
      operationType: 'Maintenance',
      from: 'relay',
      message: { at: '2026-01-01T00:00:00Z' },
    });
  });

  it('removes the stale connections it meets', async () => {
    const live = await harness.relay.connect({ type: 'cli', id: 'c1' });
    const stale = await harness.relay.connect({ type: 'cli', id: 'c2' });
    harness.management.gone.add(stale.connectionId);
    const result = await harness.relay.handlers.broadcast({ type: 'cli', message: 'hi' });
    expect(result).toEqual({ sent: 1, stale: 1, failed: 0 });
    expect(live.received()).toHaveLength(1);
    expect(await harness.items(KEY.peer({ type: 'cli', id: 'c2' }))).toEqual([]);
    expect(await harness.items(KEY.peer({ type: 'cli', id: 'c1' }))).toHaveLength(1);
  });

  it('a "team" filter skips connections that stored no teams (static mode stores none)', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'c1' });
    expect(await harness.relay.handlers.broadcast({ message: 'hi', team: 'team-a' })).toEqual({
      sent: 0,
      stale: 0,
      failed: 0,
    });
    expect(cli.received()).toEqual([]);
  });

  it('with nobody connected sends nothing', async () => {
    expect(await harness.relay.handlers.broadcast({ message: 'hi' })).toEqual({
      sent: 0,
      stale: 0,
      failed: 0,
    });
  });

  it('refuses a bad event with a reason instead of throwing', async () => {
    expect((await harness.relay.handlers.broadcast({} as never)).error).toContain('"message" is required');
    expect(
      (await harness.relay.handlers.broadcast({ message: 'x', type: 'robot' } as never)).error,
    ).toContain('"type"');
    expect((await harness.relay.handlers.broadcast(null as never)).error).toBeDefined();
    for (const team of ['', 'a,b', 'a b', 42]) {
      expect((await harness.relay.handlers.broadcast({ message: 'x', team } as never)).error).toContain(
        '"team"',
      );
    }
    expect(harness.management.posts).toEqual([]);
  });
});
