import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalGateway } from '../src/index.js';
import { selectRouteKey } from '../src/index.js';
import { ALLOW, FIXTURE_ROUTES, fixtureGateway, recorded, TestClient } from './helpers.js';

let gateway: LocalGateway;
let noDefault: LocalGateway;
let shortTimeout: LocalGateway;
beforeAll(async () => {
  gateway = await fixtureGateway();
  noDefault = await fixtureGateway({ routes: FIXTURE_ROUTES.filter((r) => r.routeKey !== '$default') });
  shortTimeout = await fixtureGateway({ limits: { handlerTimeoutMs: 300 } });
});
afterAll(async () => {
  await Promise.all([gateway?.close(), noDefault?.close(), shortTimeout?.close()]);
});

const open = (gw: LocalGateway) => TestClient.open(gw.url, { headers: ALLOW });
const idOf = (gw: LocalGateway) => gw.connections().at(-1)!.connectionId;

describe('route selection on $request.body.action', () => {
  it('selectRouteKey stringifies the action and ignores non-JSON bodies', () => {
    expect(selectRouteKey('{"action":"sendServer"}')).toBe('sendServer');
    expect(selectRouteKey('{"action":42}')).toBe('42');
    expect(selectRouteKey('{"action":true}')).toBe('true');
    expect(selectRouteKey('{"other":1}')).toBeUndefined();
    expect(selectRouteKey('not json')).toBeUndefined();
    expect(selectRouteKey('[1,2]')).toBeUndefined();
  });

  it('routes a custom route key exactly as written (no "$" prefix added)', async () => {
    const client = await open(gateway);
    client.send({ action: 'echo' });
    const { echo } = await client.nextJson();
    expect(echo.requestContext.routeKey).toBe('echo');
    client.close();
  });

  it('a numeric action is stringified to select its route', async () => {
    const client = await open(gateway);
    client.send({ action: 42 });
    const { echo } = await client.nextJson();
    expect(echo.requestContext.routeKey).toBe('42');
    client.close();
  });

  it('an unknown action goes to $default', async () => {
    const client = await open(gateway);
    client.send({ action: 'nope' });
    expect(await client.nextJson()).toEqual({
      default: true,
      routeKey: '$default',
      body: '{"action":"nope"}',
    });
    client.close();
  });

  it('a non-JSON body goes to $default', async () => {
    const client = await open(gateway);
    client.send('hello there');
    expect(await client.nextJson()).toEqual({ default: true, routeKey: '$default', body: 'hello there' });
    client.close();
  });

  it('with no matching route and no $default, AWS answers the Forbidden frame', async () => {
    const client = await open(noDefault);
    const id = idOf(noDefault);
    client.send({ action: 'nope' });
    const raw = await client.next();
    expect(raw).toMatch(/^\{"message": "Forbidden", "connectionId":"[^"]+", "requestId":"[^"]+"\}$/);
    const frame = JSON.parse(raw);
    expect(frame).toEqual({ message: 'Forbidden', connectionId: id, requestId: expect.stringMatching(/=$/) });
    client.send('not json');
    expect((await client.nextJson()).message).toBe('Forbidden');
    // The connection stays open.
    client.send({ action: 'echo' });
    expect((await client.nextJson()).echo.requestContext.routeKey).toBe('echo');
    client.close();
  });

  it('the reserved route keys cannot be selected by a message', async () => {
    const client = await open(noDefault);
    client.send({ action: '$connect' });
    expect((await client.nextJson()).message).toBe('Forbidden');
    client.close();
  });
});

describe('integration responses', () => {
  it('a two-way route sends the returned body back to the caller', async () => {
    const client = await open(gateway);
    client.send({ action: 'echo', n: 1 });
    expect(JSON.parse(await client.next()).echo.body).toBe('{"action":"echo","n":1}');
    client.close();
  });

  it('a one-way route sends nothing back', async () => {
    const client = await open(gateway);
    const before = recorded('oneway').length;
    client.send({ action: 'oneway' });
    client.send({ action: 'echo' }); // handled after oneway (in order): its answer is the first frame
    const first = await client.nextJson();
    expect(first.echo.requestContext.routeKey).toBe('echo');
    expect(recorded('oneway').length).toBe(before + 1);
    expect(client.messages).toEqual([]);
    client.close();
  });

  it('a handler that throws gives the Internal server error frame and the connection stays open', async () => {
    const client = await open(gateway);
    const id = idOf(gateway);
    client.send({ action: 'boom' });
    const raw = await client.next();
    expect(raw).toMatch(
      /^\{"message": "Internal server error", "connectionId":"[^"]+", "requestId":"[^"]+"\}$/,
    );
    expect(JSON.parse(raw)).toMatchObject({ message: 'Internal server error', connectionId: id });
    client.send({ action: 'echo' });
    expect((await client.nextJson()).echo).toBeDefined();
    client.close();
  });

  it('a route whose bundle is missing gives the Internal server error frame', async () => {
    const client = await open(gateway);
    client.send({ action: 'missingBundle' });
    expect((await client.nextJson()).message).toBe('Internal server error');
    client.close();
  });

  it('a handler slower than the integration timeout gives the Internal server error frame', async () => {
    const client = await open(shortTimeout);
    const outcomes: string[] = [];
    shortTimeout.on('route', (r) => outcomes.push(r.outcome));
    client.send({ action: 'slow', ms: 1500, seq: 1 });
    expect((await client.nextJson()).message).toBe('Internal server error');
    expect(outcomes).toContain('timeout');
    client.close();
  });

  it('handler modules stay warm: one module evaluation for many events (no process per invocation)', async () => {
    const client = await open(gateway);
    const loads: number[] = [];
    for (let i = 0; i < 3; i++) {
      client.send({ action: 'echo' });
      loads.push((await client.nextJson()).loads);
    }
    // The counter is shared by the gateways of this file; it must not move between events.
    expect(loads).toEqual([loads[0], loads[0], loads[0]]);
    client.send({ action: 'echo' });
    expect((await client.nextJson()).loads).toBe(loads[0]);
    client.close();
  });

  it('messages from one connection are handled in order', async () => {
    const client = await open(gateway);
    client.send({ action: 'slow', ms: 200, seq: 1 });
    client.send({ action: 'slow', ms: 0, seq: 2 });
    client.send({ action: 'slow', ms: 50, seq: 3 });
    const seqs = [
      (await client.nextJson()).seq,
      (await client.nextJson()).seq,
      (await client.nextJson()).seq,
    ];
    expect(seqs).toEqual([1, 2, 3]);
    client.close();
  });

  it('hooks report connect, message, route and disconnect', async () => {
    const seen: string[] = [];
    const listener = (name: string) => () => seen.push(name);
    gateway.on('connect', listener('connect'));
    gateway.on('message', listener('message'));
    gateway.on('route', listener('route'));
    let myId = '';
    gateway.on('connect', (c) => {
      if (c.query.hooks === '1') myId = c.connectionId;
    });
    const disconnected = new Promise<{ code: number }>((resolve) =>
      gateway.on('disconnect', (d) => {
        if (d.connectionId === myId) resolve(d);
      }),
    );
    const client = await TestClient.open(`${gateway.url}?hooks=1`, { headers: ALLOW });
    client.send({ action: 'echo' });
    await client.next();
    client.ws.close(1000);
    expect((await disconnected).code).toBe(1000);
    expect(seen).toEqual(expect.arrayContaining(['connect', 'message', 'route']));
  });
});
