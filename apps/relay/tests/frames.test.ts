import { describe, expect, it } from 'vitest';
import { summarizeClientFrame, summarizeRelayFrame } from '../src/inspector/frames.js';

// What the log and the inspector keep of a frame: routing fields only, never the payload.

describe('frame summaries', () => {
  it('a client frame: action, operation type, ids, the cli named by cliToMpc, the conversation', () => {
    const partialSig = {
      action: 'sendServer',
      sourceId: 'IgniterC56D',
      cliToMpc: { cli123: 'IgniterC56D' },
      operationType: 'PartialSig',
      message: { accountHash: 'h', teamId: 't', transactionId: 'tx-1', partialSig: 'secret' },
      clientMsgId: 'm-1',
    };
    const summary = summarizeClientFrame(JSON.stringify(partialSig));
    expect(summary).toEqual({
      action: 'sendServer',
      operationType: 'PartialSig',
      sourceId: 'IgniterC56D',
      clientMsgId: 'm-1',
      targetCli: 'cli123',
      conversation: 'tx-1',
    });
    expect(JSON.stringify(summary)).not.toContain('secret');
    // sessionId names the conversation before any transactionId.
    expect(summarizeClientFrame(JSON.stringify({ ...partialSig, sessionId: 's-9' })).conversation).toBe(
      's-9',
    );
    expect(summarizeClientFrame('{"action":"ping","v":2}')).toEqual({ action: 'ping', v2: true });
    expect(summarizeClientFrame('hello')).toEqual({});
    expect(summarizeClientFrame('[1,2]')).toEqual({});
  });

  it('a relay frame: delivery, error, ack, answers and API Gateway frames', () => {
    expect(
      summarizeRelayFrame(
        '{"operationType":"FullSig","from":"cli123","to":"IgniterC56D","message":{"signatureR":"r"}}',
      ),
    ).toEqual({ kind: 'delivery', operationType: 'FullSig', from: 'cli123', to: 'IgniterC56D' });
    expect(
      summarizeRelayFrame(
        '{"operationType":"PartialSig","from":"IgniterC56D","message":{},"messageId":"cAbc","clientMsgId":"m-1","sentAt":1}',
      ),
    ).toEqual({
      kind: 'delivery',
      operationType: 'PartialSig',
      from: 'IgniterC56D',
      messageId: 'cAbc',
      clientMsgId: 'm-1',
    });
    expect(
      summarizeRelayFrame(
        '{"error":{"code":"SPOOFED_SOURCE","message":"sourceId \\"x\\" is not your authenticated id","action":"sendServer"}}',
      ),
    ).toEqual({ kind: 'error', code: 'SPOOFED_SOURCE', action: 'sendServer' });
    expect(
      summarizeRelayFrame('{"ack":{"clientMsgId":"m-1","messageId":"cAbc","status":"duplicate"}}'),
    ).toEqual({
      kind: 'ack',
      status: 'duplicate',
      clientMsgId: 'm-1',
      messageId: 'cAbc',
    });
    expect(summarizeRelayFrame('{"connectionId":"WyHPAfymhcwCENw="}')).toEqual({ kind: 'connectionId' });
    expect(summarizeRelayFrame('{"pong":1732550400000}')).toEqual({ kind: 'pong' });
    expect(
      summarizeRelayFrame(
        '{"message": "Forbidden", "connectionId":"WyHPAfymhcwCENw=", "requestId":"BsoOvHh2joEFVhw="}',
      ),
    ).toEqual({ kind: 'gateway', message: 'Forbidden' });
    expect(summarizeRelayFrame('not json')).toEqual({ kind: 'other' });
  });
});
