import { ErrorCode, PROTOCOL_V2 } from '@mpc-relay/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { handler as authorizer } from '../src/handlers/authorizer.js';
import { KEY } from '../src/store/keys.js';
import { authorizerEvent, connectEvent, disconnectEvent, newConnectionId } from './helpers/events.js';
import { useHarness } from './helpers/harness.js';

describe('authorizer (static mode, the original demo)', () => {
  const query = { type: 'cli', cliId: 'cli123' };

  it('Allow: an Allow policy whose context carries the peer', async () => {
    const event = authorizerEvent({ query, headers: { Authorization: 'Allow' } });
    const result = await authorizer(event);
    expect(result.principalId).toBe('cli:cli123');
    expect(result.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn },
    ]);
    expect(result.context).toEqual({ peerType: 'cli', peerId: 'cli123', protocol: 'v1' });
  });

  it('accepts the header in any case (API Gateway keeps the client spelling)', async () => {
    const result = await authorizer(
      authorizerEvent({ query: { type: 'mpc', mpcId: 'IgniterC56D' }, headers: { authorization: 'Allow' } }),
    );
    expect(result.context).toEqual({ peerType: 'mpc', peerId: 'IgniterC56D', protocol: 'v1' });
  });

  it('Deny (or any other value): a Deny policy, which API Gateway answers with 403', async () => {
    for (const value of ['Deny', 'allow', 'Bearer x']) {
      const result = await authorizer(authorizerEvent({ query, headers: { Authorization: value } }));
      expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
      // No peer context; only the reason, for API Gateway's logs (never the credentials).
      expect(result.context).toEqual({ reason: 'Authorization is not "Allow"' });
    }
  });

  it('missing (or empty) Authorization: throws Unauthorized, which API Gateway answers with 401', async () => {
    await expect(authorizer(authorizerEvent({ query }))).rejects.toThrow(/^Unauthorized$/);
    await expect(authorizer(authorizerEvent({ query, headers: { Authorization: ' ' } }))).rejects.toThrow(
      /^Unauthorized$/,
    );
  });

  it('a bad query is allowed without a peer so that $connect answers a clear 400', async () => {
    const result = await authorizer(
      authorizerEvent({ query: { type: 'robot' }, headers: { Authorization: 'Allow' } }),
    );
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Allow');
    expect(result.principalId).toBe('anonymous');
    expect(result.context).toBeUndefined();
  });

  describe('other modes', () => {
    afterEach(() => {
      process.env.AUTH_MODE = 'static';
    });
    it('jwt without any key configured fails closed (Deny, never Allow or 500)', async () => {
      process.env.AUTH_MODE = 'jwt';
      const result = await authorizer(authorizerEvent({ query, headers: { Authorization: 'Allow' } }));
      expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
    });
    it('an unknown AUTH_MODE denies (fail closed, no 500)', async () => {
      process.env.AUTH_MODE = 'open-sesame';
      const result = await authorizer(authorizerEvent({ query, headers: { Authorization: 'Allow' } }));
      expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
    });
  });
});

describe('$connect and $disconnect', () => {
  const harness = useHarness();

  it('records the connection with its keys, expiry and protocol', async () => {
    const client = await harness.relay.connect({ type: 'mpc', id: 'IgniterC56D' });
    const items = await harness.items(KEY.peer({ type: 'mpc', id: 'IgniterC56D' }));
    expect(items).toEqual([
      expect.objectContaining({
        pk: 'PEER#mpc#IgniterC56D',
        sk: `CONN#${client.connectionId}`,
        connectionId: client.connectionId,
        peerType: 'mpc',
        peerId: 'IgniterC56D',
        protocol: 'v1',
        gsi1pk: 'CONNS#mpc',
        gsi1sk: client.connectionId,
      }),
    ]);
    const item = items[0] as { connectedAt: number; expiresAt: number };
    expect(item.connectedAt).toBeTypeOf('number');
    expect(item.expiresAt).toBeGreaterThan(Date.now() / 1000 + 7000);
  });

  const badQueries: [string, Record<string, string>][] = [
    ['no parameters', {}],
    ['unknown type', { type: 'robot', cliId: 'cli123' }],
    ['cli without cliId', { type: 'cli', mpcId: 'IgniterC56D' }],
    ['mpc without mpcId', { type: 'mpc', cliId: 'cli123' }],
    ['empty id', { type: 'cli', cliId: '' }],
    ['id with forbidden characters', { type: 'mpc', mpcId: 'mpc:1/../x' }],
    ['id too long', { type: 'cli', cliId: 'c'.repeat(129) }],
  ];
  for (const [name, query] of badQueries) {
    it(`answers 400 with an error frame and stores nothing: ${name}`, async () => {
      const connectionId = newConnectionId();
      const result = await harness.relay.handlers.route('connect', connectEvent({ connectionId, query }));
      expect(result.statusCode).toBe(400);
      const body = JSON.parse(result.body ?? '{}');
      expect(body.error.code).toBe(ErrorCode.InvalidFrame);
      expect(body.error.message).toContain('type=cli&cliId=ID');
      for (const type of ['cli', 'mpc'] as const) {
        const ids = [query.cliId, query.mpcId].filter((id): id is string => Boolean(id));
        for (const id of ids) expect(await harness.items(KEY.peer({ type, id }))).toEqual([]);
      }
    });
  }

  it('answers 403 when the query names another peer than the authorizer context', async () => {
    const result = await harness.relay.handlers.route(
      'connect',
      connectEvent({
        connectionId: newConnectionId(),
        query: { type: 'cli', cliId: 'cli123' },
        peer: { type: 'cli', id: 'someone-else' },
      }),
    );
    expect(result.statusCode).toBe(403);
    expect(await harness.items(KEY.peer({ type: 'cli', id: 'cli123' }))).toEqual([]);
  });

  it('echoes the mpc-relay.v2 subprotocol and records it', async () => {
    const connectionId = newConnectionId();
    const peer = { type: 'cli', id: 'cli-v2' } as const;
    const result = await harness.relay.handlers.route(
      'connect',
      connectEvent({
        connectionId,
        query: { type: 'cli', cliId: 'cli-v2' },
        peer,
        headers: { 'Sec-WebSocket-Protocol': `chat, ${PROTOCOL_V2}` },
      }),
    );
    expect(result).toEqual({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': PROTOCOL_V2 } });
    expect((await harness.items(KEY.peer(peer)))[0]?.protocol).toBe(PROTOCOL_V2);
  });

  it('does not echo subprotocols it does not speak', async () => {
    const result = await harness.relay.handlers.route(
      'connect',
      connectEvent({
        connectionId: newConnectionId(),
        query: { type: 'cli', cliId: 'cli123' },
        headers: { 'Sec-WebSocket-Protocol': 'chat' },
      }),
    );
    expect(result).toEqual({ statusCode: 200 });
  });

  it('$disconnect removes only that connection', async () => {
    const peer = { type: 'cli', id: 'cli123' } as const;
    const first = await harness.relay.connect(peer);
    const second = await harness.relay.connect(peer);
    expect(await first.disconnect()).toEqual({ statusCode: 200 });
    expect((await harness.items(KEY.peer(peer))).map((item) => item.connectionId)).toEqual([
      second.connectionId,
    ]);
  });

  it('$disconnect without the authorizer context finds the record through the byType index', async () => {
    const peer = { type: 'mpc', id: 'IgniterC56D' } as const;
    const client = await harness.relay.connect(peer);
    await harness.relay.handlers.route('disconnect', disconnectEvent({ connectionId: client.connectionId }));
    expect(await harness.items(KEY.peer(peer))).toEqual([]);
  });

  it('$disconnect of an unknown connection is a no-op answered 200', async () => {
    const result = await harness.relay.handlers.route(
      'disconnect',
      disconnectEvent({ connectionId: newConnectionId() }),
    );
    expect(result).toEqual({ statusCode: 200 });
  });
});
