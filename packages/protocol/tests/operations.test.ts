// Operation types: the original demo's known ones have named message schemas; any other type is relayed as
// opaque JSON, so the relay needs no release for a new operation type.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeClientFrame,
  encodeCliDelivery,
  FullSigMessageSchema,
  isKnownOperationType,
  KNOWN_OPERATION_TYPES,
  KNOWN_OPERATIONS,
  PartialSigMessageSchema,
} from '../src/index.js';

function sendServer(operationType: string, message: unknown): string {
  return JSON.stringify({ action: 'sendServer', sourceId: 'cli123', operationType, message });
}

describe('known operation types', () => {
  it('are the original demo’s four, each with a named message schema', () => {
    expect(KNOWN_OPERATION_TYPES).toEqual(['PartialSig', 'FullSig', 'signing', 'fullSig']);
    expect(KNOWN_OPERATIONS.PartialSig).toBe(PartialSigMessageSchema);
    expect(KNOWN_OPERATIONS.FullSig).toBe(FullSigMessageSchema);
    for (const type of KNOWN_OPERATION_TYPES) expect(isKnownOperationType(type)).toBe(true);
    for (const type of ['partialSig', 'Signing', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(isKnownOperationType(type)).toBe(false);
    }
  });

  it('keep extra message fields (a newer sender may add some)', () => {
    const message = {
      accountHash: 'accountHash',
      teamId: 'teamId',
      transactionId: 'transactionId',
      partialSig: 'partialSig',
      round: 2,
      meta: { curve: 'secp256k1', parties: [1, 2, 3] },
    };
    const decoded = decodeClientFrame(sendServer('PartialSig', message));
    expect(decoded).toEqual({
      ok: true,
      value: { action: 'sendServer', sourceId: 'cli123', operationType: 'PartialSig', message },
    });
    if (!decoded.ok || decoded.value.action !== 'sendServer') throw new Error('not decoded');
    expect(
      encodeCliDelivery({ operationType: 'PartialSig', from: 'm', message: decoded.value.message }),
    ).toBe(JSON.stringify({ operationType: 'PartialSig', from: 'm', message }));
  });

  it('keep extra top-level frame fields too', () => {
    const decoded = decodeClientFrame(
      JSON.stringify({ action: 'sendServer', sourceId: 'a', operationType: 'X', message: 1, traceId: 't-1' }),
    );
    expect(decoded.ok && decoded.value).toMatchObject({ traceId: 't-1' });
  });
});

describe('unknown operation types pass through as opaque JSON', () => {
  for (const message of [
    null,
    false,
    0,
    -1.5e300,
    '',
    'text',
    [],
    [1, 'two', null],
    {},
    { a: { b: [{ c: 1 }] } },
  ]) {
    it(`message ${JSON.stringify(message)}`, () => {
      expect(decodeClientFrame(sendServer('KeyRefresh', message))).toEqual({
        ok: true,
        value: { action: 'sendServer', sourceId: 'cli123', operationType: 'KeyRefresh', message },
      });
    });
  }

  it('any JSON value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (message) => {
        const decoded = decodeClientFrame(sendServer('eddsa:round2', message));
        if (!decoded.ok || decoded.value.action !== 'sendServer') throw new Error(JSON.stringify(decoded));
        expect(JSON.stringify(decoded.value.message)).toBe(JSON.stringify(message));
      }),
    );
  });
});
