// Conversations: the explicit `sessionId` envelope field (any operation type, v1 and v2) and the
// key the relay routes a cli's reply by.
import { describe, expect, it } from 'vitest';
import {
  buildJsonSchema,
  CONVERSATION_KEY_FIELDS,
  conversationKey,
  decodeClientFrame,
  decodeRelayFrame,
  ErrorCode,
  encodeCliDelivery,
  encodeMpcDelivery,
  encodeV2Delivery,
  SESSION_ID_MAX_LENGTH,
  upgradeToV2Delivery,
} from '../src/index.js';

const partialSig = { accountHash: 'a', teamId: 't', transactionId: 'tx1', partialSig: 'p' };

function send(extra: Record<string, unknown>): string {
  return JSON.stringify({
    action: 'sendServer',
    sourceId: 'mpcA',
    cliToMpc: { cli1: 'mpcA' },
    operationType: 'PartialSig',
    message: partialSig,
    ...extra,
  });
}

describe('sessionId', () => {
  it('is optional on sendServer, for any operation type', () => {
    expect(decodeClientFrame(send({})).ok).toBe(true);
    const decoded = decodeClientFrame(
      send({ operationType: 'musig2.nonce', message: null, sessionId: 's-1' }),
    );
    expect(decoded.ok && decoded.value.action === 'sendServer' && decoded.value.sessionId).toBe('s-1');
  });

  it('is 1 to 128 visible ASCII characters', () => {
    expect(decodeClientFrame(send({ sessionId: 'x'.repeat(SESSION_ID_MAX_LENGTH) })).ok).toBe(true);
    expect(decodeClientFrame(send({ sessionId: '0xAb:12/=+_-.' })).ok).toBe(true);
    for (const bad of ['', 'x'.repeat(SESSION_ID_MAX_LENGTH + 1), 'a b', 'é', 12, null]) {
      const decoded = decodeClientFrame(send({ sessionId: bad }));
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) {
        expect(decoded.error.code).toBe(ErrorCode.InvalidFrame);
        expect(decoded.error.issues?.map((issue) => issue.path)).toEqual(['sessionId']);
      }
    }
  });

  it('is delivered after message only when the sender gave one (v1 bytes unchanged otherwise)', () => {
    expect(encodeCliDelivery({ operationType: 'x', from: 'mpcA', message: 1 })).toBe(
      '{"operationType":"x","from":"mpcA","message":1}',
    );
    const toCli = encodeCliDelivery({ operationType: 'x', from: 'mpcA', message: 1, sessionId: 's' });
    expect(toCli).toBe('{"operationType":"x","from":"mpcA","message":1,"sessionId":"s"}');
    const toMpc = encodeMpcDelivery({
      operationType: 'x',
      from: 'cli1',
      to: 'mpcA',
      message: 1,
      sessionId: 's',
    });
    expect(toMpc).toBe('{"operationType":"x","from":"cli1","to":"mpcA","message":1,"sessionId":"s"}');
    const v2 = encodeV2Delivery({
      operationType: 'x',
      from: 'cli1',
      to: 'mpcA',
      message: 1,
      sessionId: 's',
      messageId: 'm',
      sentAt: 5,
    });
    expect(upgradeToV2Delivery(toMpc, { messageId: 'm', sentAt: 5 })).toBe(v2);
    for (const text of [toCli, toMpc, v2]) {
      const decoded = decodeRelayFrame(text);
      expect(decoded.ok && 'sessionId' in decoded.value.frame && decoded.value.frame.sessionId).toBe('s');
    }
  });

  it('is in the JSON Schema of sendServer and of the deliveries', () => {
    for (const name of [
      'client.send-server',
      'relay.cli-delivery',
      'relay.mpc-delivery',
      'relay.v2-delivery',
    ]) {
      const properties = buildJsonSchema(name).properties as Record<string, { maxLength?: number }>;
      expect(properties.sessionId?.maxLength).toBe(SESSION_ID_MAX_LENGTH);
    }
  });
});

describe('conversationKey', () => {
  it('is the sessionId when there is one, whatever the operation type', () => {
    expect(conversationKey({ operationType: 'PartialSig', message: partialSig, sessionId: 's' })).toEqual({
      key: 's',
      path: 'sessionId',
    });
    expect(conversationKey({ operationType: 'custom', message: null, sessionId: 's' })?.key).toBe('s');
  });

  it('is else the message transactionId, else its txId, for any operation type', () => {
    expect(CONVERSATION_KEY_FIELDS).toEqual(['transactionId', 'txId']);
    expect(conversationKey({ operationType: 'FullSig', message: { transactionId: 'tx1' } })).toEqual({
      key: 'tx1',
      path: 'message.transactionId',
    });
    expect(conversationKey({ operationType: 'signing', message: { txId: 'abc123' } })).toEqual({
      key: 'abc123',
      path: 'message.txId',
    });
    expect(
      conversationKey({ operationType: 'SignRefused', message: { transactionId: 't', txId: 'x' } }),
    ).toEqual({ key: 't', path: 'message.transactionId' });
  });

  it('is undefined without a sessionId nor a non-empty string id in an object message', () => {
    for (const frame of [
      { operationType: 'custom', message: { other: 'tx1' } },
      { operationType: 'FullSig', message: { transactionId: '' } },
      { operationType: 'FullSig', message: { transactionId: 7 } },
      { operationType: 'signing', message: ['txId'] },
      { operationType: 'signing', message: null },
      { operationType: 'signing', message: 'txId' },
      { operationType: 'toString', message: Object.create({ transactionId: 'inherited' }) },
    ]) {
      expect(conversationKey(frame)).toBeUndefined();
    }
  });
});
