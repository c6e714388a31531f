import { ErrorCode, MAX_MESSAGE_BYTES } from '@mpc-relay/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY } from '../src/store/keys.js';
import { expectErrorFrame, fullSig, partialSig } from './helpers/frames.js';
import { useHarness } from './helpers/harness.js';

describe('sendServer refusals: an error frame, nothing delivered, nothing stored', () => {
  const harness = useHarness();

  it('refuses a spoofed sourceId (mpc claiming another mpc)', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'IgniterC56D' });
    const result = await mpc.send({ ...partialSig('OtherMpc', 'cli123'), cliToMpc: { cli123: 'OtherMpc' } });
    const error = expectErrorFrame(result, ErrorCode.SpoofedSource);
    expect(error.message).toContain('IgniterC56D');
    expect(error.issues?.[0]?.path).toBe('sourceId');
    expect(cli.received()).toEqual([]);
    expect(await harness.items(KEY.mapping('cli123'))).toEqual([]);
  });

  it('refuses a spoofed sourceId (cli claiming another cli)', async () => {
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'IgniterC56D' });
    const cli = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    await mpc.send(partialSig('IgniterC56D', 'victim'));
    const result = await cli.send(fullSig('victim'));
    expectErrorFrame(result, ErrorCode.SpoofedSource);
    expect(mpc.received()).toEqual([]);
  });

  it('refuses an mpc without cliToMpc, or mapping the cli to another mpc', async () => {
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'IgniterC56D' });
    const { cliToMpc: _omit, ...noTarget } = partialSig('IgniterC56D', 'cli123');
    expectErrorFrame(await mpc.send(noTarget), ErrorCode.InvalidTarget);
    const other = await mpc.send({
      ...partialSig('IgniterC56D', 'cli123'),
      cliToMpc: { cli123: 'OtherMpc' },
    });
    const error = expectErrorFrame(other, ErrorCode.InvalidTarget);
    expect(error.issues?.[0]?.path).toBe('cliToMpc.cli123');
    expect(await harness.items(KEY.mapping('cli123'))).toEqual([]);
  });

  it('refuses a cli that names a target with cliToMpc', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const result = await cli.send({ ...fullSig('cli123'), cliToMpc: { cli123: 'IgniterC56D' } });
    expectErrorFrame(result, ErrorCode.InvalidTarget);
  });

  it('answers NO_MAPPING to a cli that no mpc contacted', async () => {
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'IgniterC56D' });
    const cli = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const error = expectErrorFrame(await cli.send(fullSig('cli123')), ErrorCode.NoMapping);
    expect(error.action).toBe('sendServer');
    expect(mpc.received()).toEqual([]);
    expect(await harness.inbox(KEY.inbox({ type: 'mpc', id: 'IgniterC56D' }))).toEqual([]);
  });

  it('answers INVALID_JSON to a non-JSON body on the sendServer route', async () => {
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'IgniterC56D' });
    const result = await harness.relay.handlers.route('sendServer', {
      ...(await import('./helpers/events.js')).messageEvent({
        connectionId: mpc.connectionId,
        routeKey: 'sendServer',
        body: '{"action":"sendServer", oops',
        peer: mpc.peer,
      }),
    });
    expectErrorFrame(result, ErrorCode.InvalidJson);
  });

  it('names every missing field', async () => {
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'IgniterC56D' });
    const error = expectErrorFrame(await mpc.send({ action: 'sendServer' }), ErrorCode.InvalidFrame);
    const paths = (error.issues ?? []).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['sourceId', 'operationType', 'message']));
  });

  it('checks known operation types against their message schema', async () => {
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'IgniterC56D' });
    const frame = partialSig('IgniterC56D', 'cli123');
    const { partialSig: _omit, ...message } = frame.message;
    const error = expectErrorFrame(await mpc.send({ ...frame, message }), ErrorCode.InvalidFrame);
    expect((error.issues ?? []).map((issue) => issue.path)).toContain('message.partialSig');
  });

  it('refuses an oversize message with MESSAGE_TOO_LARGE', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'IgniterC56D' });
    const frame = partialSig('IgniterC56D', 'cli123');
    const big = { ...frame, message: { ...frame.message, partialSig: 'x'.repeat(MAX_MESSAGE_BYTES) } };
    expectErrorFrame(await mpc.send(big), ErrorCode.MessageTooLarge);
    expect(cli.received()).toEqual([]);
  });

  it('refuses a delivery frame that would exceed the limit even when the body fits', async () => {
    const longMpcId = 'M'.repeat(120);
    const cli = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const mpc = await harness.relay.connect({ type: 'mpc', id: longMpcId });
    await mpc.send(partialSig(longMpcId, 'cli123'));
    // The mpc delivery adds `"to":"<120 characters>"`: a body at the limit grows past it.
    const base = JSON.stringify({ ...fullSig('cli123'), message: { ...fullSig('cli123').message, pad: '' } });
    const pad = 'p'.repeat(MAX_MESSAGE_BYTES - base.length);
    const body = JSON.stringify({ ...fullSig('cli123'), message: { ...fullSig('cli123').message, pad } });
    expect(Buffer.byteLength(body)).toBe(MAX_MESSAGE_BYTES);
    const result = await cli.send(body);
    expectErrorFrame(result, ErrorCode.MessageTooLarge);
    expect(mpc.received()).toEqual([]);
  });

  describe('ALLOWED_OPERATION_TYPES', () => {
    afterEach(() => {
      delete process.env.ALLOWED_OPERATION_TYPES;
    });

    it('refuses operation types outside the list and allows the listed ones', async () => {
      process.env.ALLOWED_OPERATION_TYPES = 'PartialSig, FullSig';
      const cli = await harness.relay.connect({ type: 'cli', id: 'cli123' });
      const mpc = await harness.relay.connect({ type: 'mpc', id: 'IgniterC56D' });
      const signing = {
        action: 'sendServer',
        sourceId: 'IgniterC56D',
        cliToMpc: { cli123: 'IgniterC56D' },
        operationType: 'signing',
        message: { txId: 'abc123', signature: '0xdeadbeef' },
      };
      const error = expectErrorFrame(await mpc.send(signing), ErrorCode.OperationNotAllowed);
      expect(error.message).toContain('PartialSig, FullSig');
      expect(cli.received()).toEqual([]);
      expect(await mpc.send(partialSig('IgniterC56D', 'cli123'))).toEqual({ statusCode: 200 });
      expect(cli.received()).toHaveLength(1);
    });
  });

  it('echoes the v2 clientMsgId in error frames', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const error = expectErrorFrame(
      await cli.send({ ...fullSig('cli123'), clientMsgId: 'm-1' }),
      ErrorCode.NoMapping,
    );
    expect(error.clientMsgId).toBe('m-1');
  });

  it('answers FORBIDDEN when the connection carries no authorizer identity', async () => {
    const { messageEvent } = await import('./helpers/events.js');
    const result = await harness.relay.handlers.route(
      'sendServer',
      messageEvent({
        connectionId: 'AAAAAAAAAAAAAA=',
        routeKey: 'sendServer',
        body: JSON.stringify(fullSig('cli123')),
      }),
    );
    expectErrorFrame(result, ErrorCode.Forbidden);
  });

  it('answers INTERNAL (never throws) when DynamoDB fails', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const saved = process.env.TABLE_NAME;
    process.env.TABLE_NAME = 'no-such-table';
    try {
      const error = expectErrorFrame(await cli.send(fullSig('cli123')), ErrorCode.Internal);
      expect(error.message).toContain('safe to retry');
    } finally {
      process.env.TABLE_NAME = saved;
    }
  });

  it('a reply follows its conversation, not the mpc that wrote last', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const first = await harness.relay.connect({ type: 'mpc', id: 'mpcA' });
    const second = await harness.relay.connect({ type: 'mpc', id: 'mpcB' });
    await first.send(partialSig('mpcA', 'cli123', 'tx-a'));
    await second.send(partialSig('mpcB', 'cli123', 'tx-b'));
    await cli.send(fullSig('cli123', 'tx-a'));
    await cli.send(fullSig('cli123', 'tx-b'));
    expect(first.received().map((text) => JSON.parse(text).message.transactionId)).toEqual(['tx-a']);
    expect(second.received().map((text) => JSON.parse(text).message.transactionId)).toEqual(['tx-b']);
  });
});
