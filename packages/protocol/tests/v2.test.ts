import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeClientFrame,
  decodeRelayFrame,
  ErrorCode,
  encodeAckResult,
  encodeCliDelivery,
  encodeError,
  encodeMpcDelivery,
  encodeV2Delivery,
  hasV2Marker,
  PROTOCOL_V2,
  PROTOCOL_V2_MARKER,
  upgradeToV2Delivery,
} from '../src/index.js';

describe('protocol v2 helpers', () => {
  it('the subprotocol and the "v":2 marker', () => {
    expect(PROTOCOL_V2).toBe('mpc-relay.v2');
    expect(PROTOCOL_V2_MARKER).toBe(2);
    expect(hasV2Marker({ action: 'ping', v: 2 })).toBe(true);
    for (const frame of [{ action: 'ping' }, { v: '2' }, { v: 3 }, null, 'v', 2, []]) {
      expect(hasV2Marker(frame)).toBe(false);
    }
    // Marked frames stay valid client frames (extra fields are allowed), the marker is kept.
    for (const text of ['{"action":"getConnectionId","v":2}', '{"action":"ping","v":2}']) {
      const decoded = decodeClientFrame(text);
      expect(decoded.ok && hasV2Marker(decoded.value)).toBe(true);
    }
  });

  it('upgradeToV2Delivery gives exactly encodeV2Delivery (cli and mpc deliveries)', () => {
    const id = fc.string({ minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.jsonValue(),
        id,
        fc.option(id, { nil: undefined }),
        fc.nat(),
        (toMpc, message, messageId, clientMsgId, sentAt) => {
          const base = { operationType: 'PartialSig', from: 'IgniterC56D', message };
          const v1 = toMpc ? encodeMpcDelivery({ ...base, to: 'mpc1' }) : encodeCliDelivery(base);
          const expected = encodeV2Delivery({
            ...base,
            ...(toMpc ? { to: 'mpc1' } : {}),
            messageId,
            ...(clientMsgId === undefined ? {} : { clientMsgId }),
            sentAt,
          });
          expect(upgradeToV2Delivery(v1, { messageId, clientMsgId, sentAt })).toBe(expected);
        },
      ),
    );
  });

  it('v2 frames decode with their kinds (ack result, v2 delivery, EXPIRED error)', () => {
    const ack = encodeAckResult({ clientMsgId: 'c-1', messageId: 'm-1', status: 'duplicate' });
    expect(ack).toBe('{"ack":{"clientMsgId":"c-1","messageId":"m-1","status":"duplicate"}}');
    expect(decodeRelayFrame(ack).ok && decodeRelayFrame(ack)).toMatchObject({ value: { kind: 'ack' } });
    const delivery = upgradeToV2Delivery(
      encodeCliDelivery({ operationType: 'PartialSig', from: 'm', message: { a: 1 } }),
      { messageId: 'm-1', clientMsgId: 'c-1', sentAt: 5 },
    );
    expect(decodeRelayFrame(delivery)).toMatchObject({ ok: true, value: { kind: 'v2Delivery' } });
    const expired = encodeError({
      code: ErrorCode.Expired,
      message: 'expired',
      action: 'sendServer',
      clientMsgId: 'c-1',
    });
    expect(decodeRelayFrame(expired)).toMatchObject({
      ok: true,
      value: { kind: 'error', frame: { error: { code: 'EXPIRED', clientMsgId: 'c-1' } } },
    });
  });
});
