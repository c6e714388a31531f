import { decodeRelayFrame, ErrorCode, PROTOCOL_V2 } from '@mpc-relay/protocol';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS, type HandlerName } from '../src/routes.js';
import { countRequests } from '../src/store/request-counter.js';
import { messageEvent } from './helpers/events.js';
import { CLI, MPC, partialSig } from './helpers/frames.js';
import { useHarness } from './helpers/harness.js';
import { nowSeconds } from './helpers/jwt.js';

// jwt mode after connect: the authorizer context carries the token's `exp` (and the clock-skew
// tolerance, `expSkew`); every message handler refuses a frame once exp + expSkew has passed:
// TOKEN_EXPIRED posted to the caller, then DeleteConnection, no DynamoDB request, nothing relayed.
describe('token expiry after connect (jwt mode)', () => {
  const harness = useHarness();

  const frames: Record<
    Exclude<HandlerName, 'authorizer' | 'connect' | 'disconnect' | 'broadcast'>,
    object
  > = {
    sendServer: { ...partialSig(MPC.id, CLI.id), clientMsgId: 'c-1' },
    getConnectionId: { action: 'getConnectionId', v: 2 },
    ack: { action: 'ack', messageIds: ['m-1'] },
    ping: { action: 'ping', v: 2 },
    default: { action: 'nope' },
  };
  const routeKeys: Record<keyof typeof frames, string> = {
    sendServer: 'sendServer',
    getConnectionId: 'getConnectionId',
    ack: 'ack',
    ping: 'ping',
    default: '$default',
  };

  for (const [name, frame] of Object.entries(frames) as [keyof typeof frames, object][]) {
    it(`${name}: an expired token gets TOKEN_EXPIRED, then DeleteConnection; 0 DynamoDB requests, nothing relayed`, async () => {
      // The target is online: an accepted sendServer would post to it.
      const cli = await harness.relay.connect(CLI, { headers: { 'Sec-WebSocket-Protocol': PROTOCOL_V2 } });
      const connectionId = `expired-${name}=`;
      const event = messageEvent({
        connectionId,
        routeKey: routeKeys[name],
        body: JSON.stringify(frame),
        peer: MPC,
        context: { exp: nowSeconds() - 120, expSkew: 30 },
      });
      const { result, requests } = await countRequests(() => harness.relay.handlers.route(name, event));
      expect(result).toEqual({ statusCode: 200 });
      expect(requests.total).toBe(0);
      // The error frame first, then the close (the order the client sees them).
      expect(harness.management.log).toEqual([`POST ${connectionId}`, `DELETE ${connectionId}`]);
      expect(harness.management.deletes).toEqual([connectionId]);
      const [posted] = harness.management.received(connectionId);
      const decoded = decodeRelayFrame(posted ?? '');
      expect(decoded.ok && decoded.value.kind).toBe('error');
      const error = (JSON.parse(posted ?? '{}') as { error: Record<string, unknown> }).error;
      expect(error).toMatchObject({
        code: ErrorCode.TokenExpired,
        message: expect.stringContaining('fresh token'),
      });
      // The connection is refused, not the message: no clientMsgId (the signer resends it later).
      expect(error).not.toHaveProperty('clientMsgId');
      if (name !== 'default') expect(error.action).toBe(routeKeys[name]);
      else expect(error).not.toHaveProperty('action');
      expect(cli.received()).toEqual([]);
      // Infra grants what this needs (FUNCTIONS drives the IAM policy).
      expect(FUNCTIONS[name].permissions.manageConnections).toEqual(
        expect.arrayContaining(['POST', 'DELETE']),
      );
    });
  }

  it('the clock-skew tolerance applies (as at the handshake); a valid or absent exp changes nothing', async () => {
    const cli = await harness.relay.connect(CLI);
    const send = (context: Record<string, string | number>) =>
      harness.relay.handlers.route(
        'sendServer',
        messageEvent({
          connectionId: 'mpc-conn=',
          routeKey: 'sendServer',
          body: JSON.stringify(partialSig(MPC.id, CLI.id)),
          peer: MPC,
          context,
        }),
      );
    // Expired 10 s ago, 30 s of skew: still accepted (the authorizer would accept it too).
    expect(await send({ exp: nowSeconds() - 10, expSkew: 30 })).toEqual({ statusCode: 200 });
    // Valid for an hour; numbers as decimal strings count too (API Gateway may stringify them).
    expect(await send({ exp: String(nowSeconds() + 3600), expSkew: '0' })).toEqual({ statusCode: 200 });
    // Static mode: no exp at all.
    expect(await send({})).toEqual({ statusCode: 200 });
    expect(cli.received()).toHaveLength(3);
    expect(harness.management.deletes).toEqual([]);
    // A decimal string in the past is expired as well.
    expect(await send({ exp: String(nowSeconds() - 5), expSkew: '0' })).toEqual({ statusCode: 200 });
    expect(harness.management.deletes).toEqual(['mpc-conn=']);
    expect(cli.received()).toHaveLength(3);
  });

  it('a connection already gone (410 on the post) is not deleted again', async () => {
    harness.management.gone.add('gone-conn=');
    const result = await harness.relay.handlers.route(
      'ping',
      messageEvent({
        connectionId: 'gone-conn=',
        routeKey: 'ping',
        body: '{"action":"ping"}',
        peer: CLI,
        context: { exp: nowSeconds() - 60, expSkew: 0 },
      }),
    );
    expect(result).toEqual({ statusCode: 200 });
    expect(harness.management.log).toEqual(['POST gone-conn=']);
  });
});
