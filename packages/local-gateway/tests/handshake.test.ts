import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LocalGateway } from '../src/index.js';
import {
  ALLOW,
  fixtureGateway,
  fixtureState,
  recorded,
  signedFetch,
  TestClient,
  waitFor,
} from './helpers.js';

let gateway: LocalGateway;
beforeAll(async () => {
  gateway = await fixtureGateway();
});
afterAll(async () => {
  console.log('OPEN', JSON.stringify(gateway.connections()));
  const t = Date.now();
  await gateway?.close();
  console.log('CLOSE', Date.now() - t);
});

const countOf = (handler: string) => recorded(handler).length;

describe('REQUEST authorizer and $connect run before the upgrade completes', () => {
  it('accepts the handshake when the authorizer allows and $connect answers 200', async () => {
    const client = await TestClient.open(`${gateway.url}?type=cli&cliId=c1`, { headers: ALLOW });
    expect(gateway.connections().some((c) => c.state === 'open')).toBe(true);
    client.close();
  });

  it('a missing identity source answers 401 without calling the authorizer', async () => {
    const before = countOf('authorizer');
    const refusal = await TestClient.refusal(`${gateway.url}?type=cli&cliId=c1`);
    expect(refusal.status).toBe(401);
    expect(JSON.parse(refusal.body)).toEqual({ message: 'Unauthorized' });
    expect(countOf('authorizer')).toBe(before);
  });

  it('an empty identity source also answers 401 without calling the authorizer', async () => {
    const before = countOf('authorizer');
    expect((await TestClient.refusal(gateway.url, { Authorization: '' })).status).toBe(401);
    expect(countOf('authorizer')).toBe(before);
  });

  it('an authorizer Deny answers 403 and $connect never runs', async () => {
    const before = countOf('connect');
    const refusal = await TestClient.refusal(gateway.url, { Authorization: 'Deny' });
    expect(refusal.status).toBe(403);
    expect(JSON.parse(refusal.body)).toEqual({ message: 'Forbidden' });
    expect(countOf('connect')).toBe(before);
  });

  it('an Allow on another resource than the method ARN answers 403', async () => {
    expect((await TestClient.refusal(gateway.url, { Authorization: 'OtherResource' })).status).toBe(403);
  });

  it("an authorizer throwing 'Unauthorized' answers 401 (not 500)", async () => {
    expect((await TestClient.refusal(gateway.url, { Authorization: 'Unauthorized' })).status).toBe(401);
  });

  it('an authorizer throwing anything else answers 500', async () => {
    expect((await TestClient.refusal(gateway.url, { Authorization: 'Boom' })).status).toBe(500);
  });

  it('an authorizer context value that is not a string, number or boolean answers 500', async () => {
    expect((await TestClient.refusal(gateway.url, { Authorization: 'BadContext' })).status).toBe(500);
  });

  it('a non-2xx status from $connect refuses the handshake with that status', async () => {
    const refusal = await TestClient.refusal(`${gateway.url}?status=429`, ALLOW);
    expect(refusal.status).toBe(429);
    expect(refusal.body).toBe('refused by $connect');
    expect((await TestClient.refusal(`${gateway.url}?status=400`, ALLOW)).status).toBe(400);
  });

  it('a $connect handler that throws refuses the handshake with 502', async () => {
    expect((await TestClient.refusal(`${gateway.url}?throw=1`, ALLOW)).status).toBe(502);
  });

  it('a $connect handler slower than the integration timeout refuses the handshake with 504', async () => {
    const fast = await fixtureGateway({ limits: { handlerTimeoutMs: 200 } });
    try {
      expect((await TestClient.refusal(`${fast.url}?hold=2000`, ALLOW)).status).toBe(504);
    } finally {
      await fast.close();
    }
  });

  it('a wrong stage in the WebSocket URL is refused with 403', async () => {
    const url = gateway.url.replace(/\/production$/, '/other');
    expect((await TestClient.refusal(url, ALLOW)).status).toBe(403);
  });

  it("the Sec-WebSocket-Protocol $connect returns is the handshake's subprotocol", async () => {
    const client = await TestClient.open(`${gateway.url}?proto=mpc-relay.v2`, {
      headers: ALLOW,
      protocols: ['mpc-relay.v2', 'other'],
    });
    expect(client.ws.protocol).toBe('mpc-relay.v2');
    client.close();
  });

  it('without a Sec-WebSocket-Protocol from $connect no subprotocol is selected (as AWS)', async () => {
    await expect(
      TestClient.open(gateway.url, { headers: ALLOW, protocols: ['mpc-relay.v2'] }),
    ).rejects.toThrow(/subprotocol/i);
  });

  it('posting to a connection while its $connect runs answers 410 GoneException', async () => {
    const state = fixtureState();
    const before = state.connecting.length;
    const opening = TestClient.open(`${gateway.url}?hold=500`, { headers: ALLOW });
    const id = await waitFor(() => state.connecting[before], 'the $connect to start');
    const res = await signedFetch(
      gateway,
      `${gateway.managementEndpoint}/@connections/${encodeURIComponent(id)}`,
      {
        method: 'POST',
        body: 'too early',
      },
    );
    expect(res.status).toBe(410);
    expect(res.headers.get('x-amzn-errortype')).toBe('GoneException');
    const client = await opening;
    const after = await signedFetch(
      gateway,
      `${gateway.managementEndpoint}/@connections/${encodeURIComponent(id)}`,
      {
        method: 'POST',
        body: 'now',
      },
    );
    expect(after.status).toBe(200);
    expect(await client.next()).toBe('now');
    client.close();
  });
});

describe('connections that end early', () => {
  it('a client that leaves while $connect runs still gets its $disconnect (1006)', async () => {
    const state = fixtureState();
    const before = state.connecting.length;
    const ws = new WebSocket(`${gateway.url}?hold=300`, { headers: ALLOW });
    ws.on('error', () => {});
    const id = await waitFor(() => state.connecting[before], 'the $connect to start');
    ws.terminate(); // abandons the pending handshake
    const disconnect = await waitFor(
      () => recorded('disconnect').find((e) => e.requestContext.connectionId === id),
      '$disconnect of the abandoned connection',
    );
    expect(disconnect.requestContext.disconnectStatusCode).toBe(1006);
    expect(gateway.connections().some((c) => c.connectionId === id)).toBe(false);
  });
});

describe('events handed to the handlers', () => {
  it('$connect and the authorizer get headers, query strings and an AWS-shaped requestContext', async () => {
    const client = await TestClient.open(`${gateway.url}?type=cli&cliId=evt1&x=1&x=2`, {
      headers: { ...ALLOW, 'User-Agent': 'fixture-agent' },
    });
    const connect = recorded('connect').find((e) => e.queryStringParameters?.cliId === 'evt1')!;
    const auth = recorded('authorizer').find((e) => e.queryStringParameters?.cliId === 'evt1')!;
    expect(auth.type).toBe('REQUEST');
    expect(auth.methodArn).toMatch(
      /^arn:aws:execute-api:us-east-1:\d{12}:[a-z0-9]{10}\/production\/\$connect$/,
    );
    expect(auth.headers.Authorization).toBe('Allow');
    expect(connect.headers.Authorization).toBe('Allow');
    expect(connect.multiValueHeaders.Authorization).toEqual(['Allow']);
    expect(connect.queryStringParameters).toEqual({ type: 'cli', cliId: 'evt1', x: '2' });
    expect(connect.multiValueQueryStringParameters.x).toEqual(['1', '2']);
    expect(connect.isBase64Encoded).toBe(false);
    const rc = connect.requestContext;
    expect(rc.routeKey).toBe('$connect');
    expect(rc.eventType).toBe('CONNECT');
    expect(rc.connectionId).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    expect(rc.stage).toBe('production');
    expect(rc.apiId).toBe(gateway.apiId);
    expect(rc.domainName).toBe(`127.0.0.1:${gateway.port}`);
    expect(rc.identity.sourceIp).toBe('127.0.0.1');
    expect(rc.identity.userAgent).toBe('fixture-agent');
    expect(typeof rc.connectedAt).toBe('number');
    expect(typeof rc.requestTimeEpoch).toBe('number');
    expect(rc.requestId).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    expect(rc.extendedRequestId).toBeTruthy();
    expect(rc.messageDirection).toBe('IN');
    expect(rc.requestTime).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    // $connect of an authorized route carries the authorizer's context and principalId.
    expect(rc.authorizer).toMatchObject({
      principalId: 'cli:evt1',
      peerType: 'cli',
      peerId: 'evt1',
      count: 2,
      flag: true,
    });

    client.send({ action: 'echo', hello: 1 });
    const { echo } = await client.nextJson();
    expect(echo.body).toBe('{"action":"echo","hello":1}');
    expect(echo.isBase64Encoded).toBe(false);
    expect(echo.headers).toBeUndefined();
    expect(echo.multiValueHeaders).toBeUndefined();
    expect(echo.queryStringParameters).toBeUndefined();
    expect(echo.requestContext.eventType).toBe('MESSAGE');
    expect(echo.requestContext.routeKey).toBe('echo');
    expect(echo.requestContext.connectionId).toBe(rc.connectionId);
    expect(echo.requestContext.connectedAt).toBe(rc.connectedAt);
    expect(echo.requestContext.messageId).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    expect(echo.requestContext.requestId).not.toBe(rc.requestId);
    expect(echo.requestContext.authorizer).toMatchObject({ principalId: 'cli:evt1', peerId: 'evt1' });

    client.ws.close(4001, 'bye now');
    const disconnect = await waitFor(
      () => recorded('disconnect').find((e) => e.requestContext.connectionId === rc.connectionId),
      '$disconnect',
    );
    expect(disconnect.requestContext.eventType).toBe('DISCONNECT');
    expect(disconnect.requestContext.routeKey).toBe('$disconnect');
    expect(disconnect.requestContext.disconnectStatusCode).toBe(4001);
    expect(disconnect.requestContext.disconnectReason).toBe('bye now');
    expect(disconnect.requestContext.authorizer).toMatchObject({ principalId: 'cli:evt1' });
    expect(disconnect.headers).toBeUndefined();
    expect(disconnect.body).toBeUndefined();
  });

  it('a close without a status code gives disconnectStatusCode 1005 and AWS reason text', async () => {
    const client = await TestClient.open(`${gateway.url}?cliId=noStatus`, { headers: ALLOW });
    const id = recorded('connect').find((e) => e.queryStringParameters?.cliId === 'noStatus')!.requestContext
      .connectionId;
    client.ws.close();
    const disconnect = await waitFor(
      () => recorded('disconnect').find((e) => e.requestContext.connectionId === id),
      '$disconnect',
    );
    expect(disconnect.requestContext.disconnectStatusCode).toBe(1005);
    expect(disconnect.requestContext.disconnectReason).toBe('Client-side close frame status not set');
  });

  it('connection ids are unique and AWS-like', async () => {
    const ids = new Set<string>();
    const clients = await Promise.all(
      Array.from({ length: 5 }, () => TestClient.open(gateway.url, { headers: ALLOW })),
    );
    for (const c of gateway.connections()) ids.add(c.connectionId);
    expect(ids.size).toBeGreaterThanOrEqual(5);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    for (const c of clients) c.close();
  });

  it('handlers get the gateway env and a Lambda-like context', async () => {
    const client = await TestClient.open(gateway.url, { headers: ALLOW });
    client.send({ action: 'echo' });
    const answer = await client.nextJson();
    expect(answer.env.TABLE_NAME).toBe('fixture-table');
    expect(answer.remaining).toBeGreaterThan(0);
    expect(answer.env.MANAGEMENT_ENDPOINT).toBe(gateway.managementEndpoint);
    client.close();
  });

  it('two gateways in one process keep their own env, even with interleaved handlers', async () => {
    const other = await fixtureGateway({ env: { TABLE_NAME: 'other-table' } });
    try {
      const a = await TestClient.open(gateway.url, { headers: ALLOW });
      const b = await TestClient.open(other.url, { headers: ALLOW });
      a.send({ action: 'envcheck', ms: 150 });
      b.send({ action: 'envcheck', ms: 0 });
      a.send({ action: 'envcheck', ms: 0 });
      b.send({ action: 'envcheck', ms: 150 });
      const answers = [await a.nextJson(), await a.nextJson(), await b.nextJson(), await b.nextJson()];
      const mine = { loadedWith: 'fixture-table', before: 'fixture-table', after: 'fixture-table' };
      const theirs = { loadedWith: 'other-table', before: 'other-table', after: 'other-table' };
      expect(answers).toEqual([mine, mine, theirs, theirs]);
      // Outside invocations process.env is the real environment.
      expect(process.env.TABLE_NAME).toBeUndefined();
      a.close();
      b.close();
    } finally {
      await other.close();
    }
  });
});

describe('query and header names that are Object.prototype members', () => {
  it('__proto__, constructor, toString are ordinary keys of the authorizer and $connect events', async () => {
    const before = recorded('connect').length;
    const client = await TestClient.open(
      `${gateway.url}?type=cli&cliId=c1&__proto__=1&constructor=2&toString=3&constructor=4`,
      { headers: { ...ALLOW, constructor: 'h1', toString: 'h2' } },
    );
    const event = recorded('connect')[before] as {
      queryStringParameters: Record<string, string>;
      multiValueQueryStringParameters: Record<string, string[]>;
      headers: Record<string, string>;
      multiValueHeaders: Record<string, string[]>;
    };
    const own = (object: object, key: string) => Object.getOwnPropertyDescriptor(object, key)?.value;
    expect(own(event.queryStringParameters, '__proto__')).toBe('1');
    expect(own(event.queryStringParameters, 'constructor')).toBe('4');
    expect(own(event.multiValueQueryStringParameters, 'constructor')).toEqual(['2', '4']);
    expect(own(event.queryStringParameters, 'toString')).toBe('3');
    expect(own(event.headers, 'constructor')).toBe('h1');
    expect(own(event.multiValueHeaders, 'toString')).toEqual(['h2']);
    expect(Object.getPrototypeOf(event.queryStringParameters)).toBe(Object.prototype);
    client.close();
  });
});
