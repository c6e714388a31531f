import { decodeRelayFrame, ErrorCode } from '@mpc-relay/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageEvent } from './helpers/events.js';
import { expectErrorFrame } from './helpers/frames.js';
import { type Harness, startHarness } from './helpers/harness.js';

describe('ping, ack, $default', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness('src');
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('ping answers a pong frame', async () => {
    const client = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const result = await client.send({ action: 'ping' });
    expect(result.statusCode).toBe(200);
    const decoded = decodeRelayFrame(result.body ?? '');
    expect(decoded.ok && decoded.value.kind).toBe('pong');
  });

  it('ack (protocol v2) answers nothing on success, INVALID_FRAME when malformed', async () => {
    const client = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    // Unknown ids are harmless (acknowledging is idempotent).
    expect(await client.send({ action: 'ack', messageIds: ['m1'] })).toEqual({ statusCode: 200 });
    const malformed = expectErrorFrame(await client.send({ action: 'ack' }), ErrorCode.InvalidFrame);
    expect(malformed.issues?.[0]?.path).toBe('messageIds');
    expect(malformed.action).toBe('ack');
  });

  it('$default answers INVALID_JSON to non-JSON', async () => {
    const client = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    for (const body of ['hello', '{"action":', '[1,2]', '42', '']) {
      expectErrorFrame(await client.send(body), ErrorCode.InvalidJson);
    }
  });

  it('$default answers UNKNOWN_ACTION naming the action', async () => {
    const client = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const error = expectErrorFrame(
      await client.send({ action: 'sendmessage', message: 'hi' }),
      ErrorCode.UnknownAction,
    );
    expect(error.message).toContain('"sendmessage"');
    // A non-string action is a malformed frame (the protocol's decoder says so).
    expectErrorFrame(await client.send({ action: 5 }), ErrorCode.InvalidFrame);
  });

  it('$default answers INVALID_FRAME to JSON without an action', async () => {
    const client = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const error = expectErrorFrame(await client.send({ hello: 'world' }), ErrorCode.InvalidFrame);
    expect(error.issues?.[0]?.path).toBe('action');
  });

  it('never throws, even for a malformed event', async () => {
    const result = await harness.relay.handlers.route('default', {} as never);
    expectErrorFrame(result, ErrorCode.InvalidJson);
    // Not bad client input but a broken event: logged and answered INTERNAL, still no throw.
    const broken = await harness.relay.handlers.route('sendServer', null as never);
    expectErrorFrame(broken, ErrorCode.Internal);
    const getId = await harness.relay.handlers.route(
      'getConnectionId',
      messageEvent({
        connectionId: 'abc=',
        routeKey: 'getConnectionId',
        body: '{"action":"getConnectionId"}',
      }),
    );
    expect(getId.body).toBe('{"connectionId":"abc="}');
  });
});
