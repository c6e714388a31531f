// Property tests (fast-check): the decoders never throw, whatever arrives, and every relay frame the
// encoders produce decodes back to what was encoded.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT_ACTIONS,
  type DecodeResult,
  decodeClientFrame,
  decodeRelayFrame,
  ERROR_CODES,
  encodeAckResult,
  encodeCliDelivery,
  encodeConnectionId,
  encodeError,
  encodeMpcDelivery,
  encodePong,
  encodeV2Delivery,
  KNOWN_OPERATION_TYPES,
  MAX_ERROR_ISSUES,
  MAX_MESSAGE_BYTES,
  utf8Length,
} from '../src/index.js';

const decoders = { decodeClientFrame, decodeRelayFrame } as const;

/**
 * Every property runs this many cases (fast-check's default, stated so a change is deliberate), and
 * each test has a timeout that fits it under load rather than vitest's 5 s default: a property takes
 * 0.1-0.3 s on a quiet machine, a run of this file shares 2 cores with up to 8 others.
 */
const RUNS = { numRuns: 100 } as const;
const PROPERTY_TIMEOUT_MS = 30_000;

/** A result that is well formed: ok with a value, or an error with a known code that encodes small. */
function expectWellFormed(result: DecodeResult<unknown>): void {
  expect(typeof result.ok).toBe('boolean');
  if (result.ok) return;
  expect(ERROR_CODES).toContain(result.error.code);
  expect(typeof result.error.message).toBe('string');
  expect((result.error.issues ?? []).length).toBeLessThanOrEqual(MAX_ERROR_ISSUES);
  const frame = encodeError(result.error);
  expect(utf8Length(frame)).toBeLessThan(8 * 1024);
  expect(decodeRelayFrame(frame).ok).toBe(true);
}

function neverThrows(text: string): void {
  for (const decode of Object.values(decoders)) expectWellFormed(decode(text));
}

// Any UTF-16 code unit, lone surrogates included (what a broken client might send).
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));

const RELAY_KEYS = [
  'error',
  'ack',
  'pong',
  'operationType',
  'messageId',
  'to',
  'from',
  'message',
  'connectionId',
];
const CLIENT_KEYS = ['sourceId', 'cliToMpc', 'operationType', 'message', 'clientMsgId', 'messageIds'];

/** Objects whose keys are mostly the protocol's own, with arbitrary JSON values. */
function protocolLikeObject(keys: string[]) {
  return fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string()), fc.jsonValue({ maxDepth: 3 }), {
    maxKeys: 8,
  });
}

describe('decoders never throw', { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it('on arbitrary strings (fc.string)', () => {
    fc.assert(fc.property(fc.string(), neverThrows), RUNS);
  });

  describe('on arbitrary full-Unicode strings (fullUnicodeString in fast-check 3 = unit binary in 4)', () => {
    // fast-check builds its table of every code point (1.1 M) when unit 'binary' is first used: 1-2 s
    // on a quiet machine, 5-10 s at load 10 (it was what timed this test out). Built once here,
    // under a hook timeout of its own, so the properties' timeout covers the properties.
    let binary: fc.Arbitrary<string>;
    beforeAll(() => {
      binary = fc.string({ unit: 'binary' });
      fc.sample(binary, 1);
    }, 120_000);

    it('unit binary: any code point', () => {
      fc.assert(fc.property(binary, neverThrows), RUNS);
    });

    it('unit grapheme: any grapheme cluster', () => {
      fc.assert(fc.property(fc.string({ unit: 'grapheme' }), neverThrows), RUNS);
    });
  });

  it('on strings of arbitrary UTF-16 code units, lone surrogates included', () => {
    fc.assert(fc.property(fc.string({ unit: anyCodeUnit }), neverThrows), RUNS);
  });

  it('on arbitrary JSON text (fc.json)', () => {
    fc.assert(fc.property(fc.json(), neverThrows), RUNS);
  });

  it('on arbitrary JSON values (fc.jsonValue), stringified', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => neverThrows(JSON.stringify(value))),
      RUNS,
    );
  });

  it('on objects with a real action and arbitrary other fields', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CLIENT_ACTIONS), protocolLikeObject(CLIENT_KEYS), (action, rest) => {
        neverThrows(JSON.stringify({ ...rest, action }));
      }),
      RUNS,
    );
  });

  it('on objects with the relay frames keys and arbitrary values', () => {
    fc.assert(
      fc.property(protocolLikeObject(RELAY_KEYS), (value) => neverThrows(JSON.stringify(value))),
      RUNS,
    );
  });

  it('on sendServer frames of known and unknown operation types with arbitrary messages', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...KNOWN_OPERATION_TYPES), fc.string()),
        fc.jsonValue(),
        fc.option(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 1 }))),
        (operationType, message, cliToMpc) => {
          const frame = { action: 'sendServer', sourceId: 'IgniterC56D', cliToMpc, operationType, message };
          neverThrows(JSON.stringify(frame));
        },
      ),
      RUNS,
    );
  });

  it('on JSON cut at an arbitrary point', () => {
    fc.assert(
      fc.property(fc.json(), fc.nat(), (text, cut) => {
        neverThrows(text.slice(0, cut % (text.length + 1)));
      }),
      RUNS,
    );
  });

  describe('on deeply nested JSON', () => {
    const deep = {
      '100k unclosed [': '['.repeat(100_000),
      '100k unclosed {"a":': '{"a":'.repeat(100_000),
      '60k closed [] (within 128 KB)': `${'['.repeat(60_000)}${']'.repeat(60_000)}`,
      '20k closed {"a":} (within 128 KB)': `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
      'deep message inside a sendServer frame': `{"action":"sendServer","sourceId":"a","operationType":"X","message":${'['.repeat(60_000)}${']'.repeat(60_000)}}`,
      'deep error inside a relay frame': `{"error":${'{"code":'.repeat(20_000)}1${'}'.repeat(20_000)}}`,
    };
    for (const [name, text] of Object.entries(deep)) {
      it(name, () => {
        neverThrows(text);
        // Also when the byte limit is raised out of the way, so the parser and the depth check see it all.
        for (const decode of Object.values(decoders)) expectWellFormed(decode(text, 10 * MAX_MESSAGE_BYTES));
      });
    }

    it('100k levels of valid JSON with no byte limit are refused as too deep', () => {
      const text = `{"action":"sendServer","sourceId":"a","operationType":"X","message":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
      const result = decodeClientFrame(text, Number.POSITIVE_INFINITY);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('INVALID_FRAME');
    });
  });
});

// Arbitraries for valid wire values.
// `__proto__` as a cliToMpc key is lost by zod's record parsing (it becomes the prototype), so the
// frame is refused: a known limitation for a name no peer uses; the generator leaves it out.
const peerId = fc.stringMatching(/^[A-Za-z0-9_.-]{1,128}$/).filter((id) => id !== '__proto__');
const operationType = fc.oneof(
  fc.constantFrom(...KNOWN_OPERATION_TYPES),
  fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/),
);
const jsonMessage = fc.jsonValue({ maxDepth: 6 });
const shortText = fc.string({ minLength: 1, maxLength: 128 });
const sameJson = (a: unknown, b: unknown) => expect(JSON.stringify(a)).toBe(JSON.stringify(b));

describe('encode -> decode round trips for every relay frame kind', { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it('connectionId', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (connectionId) => {
        expect(decodeRelayFrame(encodeConnectionId(connectionId))).toEqual({
          ok: true,
          value: { kind: 'connectionId', frame: { connectionId } },
        });
      }),
      RUNS,
    );
  });

  it('cliDelivery', () => {
    fc.assert(
      fc.property(operationType, peerId, jsonMessage, (op, from, message) => {
        const text = encodeCliDelivery({ operationType: op, from, message });
        const decoded = decodeRelayFrame(text);
        if (!decoded.ok || decoded.value.kind !== 'cliDelivery') throw new Error(text);
        expect(Object.keys(decoded.value.frame)).toEqual(['operationType', 'from', 'message']);
        sameJson(decoded.value.frame, { operationType: op, from, message });
      }),
      RUNS,
    );
  });

  it('mpcDelivery', () => {
    fc.assert(
      fc.property(operationType, peerId, peerId, jsonMessage, (op, from, to, message) => {
        const text = encodeMpcDelivery({ operationType: op, from, to, message });
        const decoded = decodeRelayFrame(text);
        if (!decoded.ok || decoded.value.kind !== 'mpcDelivery') throw new Error(text);
        expect(Object.keys(decoded.value.frame)).toEqual(['operationType', 'from', 'to', 'message']);
        sameJson(decoded.value.frame, { operationType: op, from, to, message });
      }),
      RUNS,
    );
  });

  it('v2Delivery', () => {
    fc.assert(
      fc.property(
        operationType,
        peerId,
        fc.option(peerId, { nil: undefined }),
        jsonMessage,
        shortText,
        fc.option(shortText, { nil: undefined }),
        fc.nat(),
        (op, from, to, message, messageId, clientMsgId, sentAt) => {
          const frame = { operationType: op, from, to, message, messageId, clientMsgId, sentAt };
          const decoded = decodeRelayFrame(encodeV2Delivery(frame));
          if (!decoded.ok || decoded.value.kind !== 'v2Delivery') throw new Error(JSON.stringify(decoded));
          sameJson(decoded.value.frame, frame);
        },
      ),
      RUNS,
    );
  });

  it('ack', () => {
    fc.assert(
      fc.property(
        shortText,
        shortText,
        fc.constantFrom('delivered', 'stored', 'duplicate'),
        (c, m, status) => {
          const ack = { clientMsgId: c, messageId: m, status } as const;
          expect(decodeRelayFrame(encodeAckResult(ack))).toEqual({
            ok: true,
            value: { kind: 'ack', frame: { ack } },
          });
        },
      ),
      RUNS,
    );
  });

  it('pong', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (now) => {
        expect(decodeRelayFrame(encodePong(now))).toEqual({
          ok: true,
          value: { kind: 'pong', frame: { pong: now } },
        });
      }),
      RUNS,
    );
    const decoded = decodeRelayFrame(encodePong());
    expect(decoded.ok && decoded.value.kind === 'pong').toBe(true);
  });

  it('error', () => {
    const issue = fc.record({ path: fc.string({ maxLength: 100 }), message: fc.string({ maxLength: 100 }) });
    fc.assert(
      fc.property(
        fc.constantFrom(...ERROR_CODES),
        fc.string({ maxLength: 300 }),
        fc.array(issue, { minLength: 1, maxLength: MAX_ERROR_ISSUES }),
        fc.option(fc.string({ maxLength: 64 }), { nil: undefined }),
        fc.option(shortText, { nil: undefined }),
        (code, message, issues, action, clientMsgId) => {
          const decoded = decodeRelayFrame(encodeError({ code, message, issues, action, clientMsgId }));
          const expected: Record<string, unknown> = { code, message, issues };
          if (action !== undefined) expected.action = action;
          if (clientMsgId !== undefined) expected.clientMsgId = clientMsgId;
          expect(decoded).toEqual({ ok: true, value: { kind: 'error', frame: { error: expected } } });
        },
      ),
      RUNS,
    );
  });
});

describe('client frames round trip through decodeClientFrame', { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it('sendServer from an mpc (with cliToMpc) and from a cli (without), unknown operation types', () => {
    fc.assert(
      fc.property(
        peerId,
        fc.option(peerId, { nil: undefined }),
        fc.stringMatching(/^Op[A-Za-z0-9_.:-]{0,60}$/),
        jsonMessage,
        (sourceId, cliId, op, message) => {
          const frame = {
            action: 'sendServer',
            sourceId,
            ...(cliId === undefined ? {} : { cliToMpc: { [cliId]: sourceId } }),
            operationType: op,
            message,
          };
          const decoded = decodeClientFrame(JSON.stringify(frame));
          if (!decoded.ok) throw new Error(decoded.error.message);
          sameJson(decoded.value, frame);
        },
      ),
      RUNS,
    );
  });

  it('known operation types keep extra message fields', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^x[a-zA-Z]{0,10}$/), fc.jsonValue({ maxDepth: 2 })),
        (extra) => {
          const message = { ...extra, accountHash: 'a', teamId: 't', transactionId: 'x', partialSig: 'p' };
          const frame = {
            action: 'sendServer',
            sourceId: 'm1',
            cliToMpc: { c1: 'm1' },
            operationType: 'PartialSig',
            message,
          };
          const decoded = decodeClientFrame(JSON.stringify(frame));
          if (!decoded.ok || decoded.value.action !== 'sendServer') throw new Error(JSON.stringify(decoded));
          sameJson(decoded.value.message, message);
        },
      ),
      RUNS,
    );
  });
});
