// Every error path of the decoders, with its code and the path of the field at fault.
import { describe, expect, it } from 'vitest';
import {
  type DecodeResult,
  decodeClientFrame,
  decodeRelayFrame,
  ERROR_CODES,
  ErrorCode,
  encodeError,
  MAX_ACK_IDS,
  MAX_ERROR_ISSUES,
  MAX_JSON_DEPTH,
  MAX_MESSAGE_BYTES,
  parseConnectParams,
  utf8Length,
  validateOperationMessage,
} from '../src/index.js';

const MPC = 'IgniterC56D';
const CLI = 'cli123';
const partialSig = { accountHash: 'a', teamId: 't', transactionId: 'x', partialSig: 'p' };
const fromMpc = {
  action: 'sendServer',
  sourceId: MPC,
  cliToMpc: { [CLI]: MPC },
  operationType: 'PartialSig',
  message: partialSig,
};

function send(overrides: Record<string, unknown>, omit: string[] = []): string {
  const frame: Record<string, unknown> = { ...fromMpc, ...overrides };
  for (const key of omit) delete frame[key];
  return JSON.stringify(frame);
}

/** Asserts a failed result with this code and (when given) these issue paths, and returns it. */
function expectError<T>(result: DecodeResult<T>, code: ErrorCode, paths?: string[]) {
  expect(result.ok, JSON.stringify(result)).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error.code).toBe(code);
  expect(typeof result.error.message).toBe('string');
  expect(result.error.message.length).toBeGreaterThan(0);
  if (paths) expect(result.error.issues?.map((issue) => issue.path)).toEqual(paths);
  return result.error;
}

describe('decodeClientFrame: not a JSON object', () => {
  const cases: [string, string][] = [
    ['plain text', 'hello'],
    ['empty text', ''],
    ['truncated JSON', '{"action":"getConnectionId"'],
    ['single quotes', "{'action':'getConnectionId'}"],
    ['a JSON array', '[{"action":"getConnectionId"}]'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['a JSON string', '"getConnectionId"'],
    ['a JSON boolean', 'true'],
  ];
  for (const [name, text] of cases) {
    it(`${name} -> INVALID_JSON`, () => {
      const error = expectError(decodeClientFrame(text), ErrorCode.InvalidJson);
      expect(error.issues).toBeUndefined();
    });
  }

  it('a non-string input (e.g. a Buffer passed by mistake) -> INVALID_JSON', () => {
    expectError(decodeClientFrame(Buffer.from('{}') as unknown as string), ErrorCode.InvalidJson);
  });
});

describe('decodeClientFrame: action', () => {
  it('missing -> INVALID_FRAME at action', () => {
    expectError(decodeClientFrame('{}'), ErrorCode.InvalidFrame, ['action']);
    expectError(decodeClientFrame('{"sourceId":"x"}'), ErrorCode.InvalidFrame, ['action']);
  });

  for (const action of [5, null, true, ['sendServer'], { name: 'ping' }]) {
    it(`not a string (${JSON.stringify(action)}) -> INVALID_FRAME at action`, () => {
      const error = expectError(decodeClientFrame(JSON.stringify({ action })), ErrorCode.InvalidFrame, [
        'action',
      ]);
      expect(error.issues?.[0]?.message).toBe('must be a string');
    });
  }

  for (const action of [
    'sendmessage',
    'SendServer',
    '',
    '$default',
    '__proto__',
    'toString',
    'constructor',
  ]) {
    it(`unknown (${JSON.stringify(action)}) -> UNKNOWN_ACTION at action`, () => {
      const error = expectError(decodeClientFrame(JSON.stringify({ action })), ErrorCode.UnknownAction, [
        'action',
      ]);
      expect(error.message).toContain('getConnectionId, sendServer, ack, ping');
    });
  }

  it('a huge unknown action is not echoed back in full', () => {
    const error = expectError(
      decodeClientFrame(JSON.stringify({ action: 'x'.repeat(100_000) })),
      ErrorCode.UnknownAction,
    );
    expect(error.message.length).toBeLessThan(300);
  });
});

describe('decodeClientFrame: sendServer fields', () => {
  it('the valid base frame decodes', () => {
    expect(decodeClientFrame(send({})).ok).toBe(true);
  });

  it('missing sourceId -> INVALID_FRAME at sourceId', () => {
    const error = expectError(decodeClientFrame(send({}, ['sourceId'])), ErrorCode.InvalidFrame, [
      'sourceId',
    ]);
    expect(error.issues?.[0]?.message).toBe('is required');
  });

  for (const sourceId of ['', 'has space', 'cli:123', 'ünïcode', 'a/b', 'semi;colon', 42, null]) {
    it(`bad sourceId ${JSON.stringify(sourceId)} -> INVALID_FRAME at sourceId`, () => {
      expectError(decodeClientFrame(send({ sourceId })), ErrorCode.InvalidFrame, ['sourceId']);
    });
  }

  it('ids: 128 characters pass, 129 do not', () => {
    const id128 = 'a'.repeat(128);
    expect(decodeClientFrame(send({ sourceId: id128, cliToMpc: { [id128]: id128 } })).ok).toBe(true);
    expectError(decodeClientFrame(send({ sourceId: 'a'.repeat(129) })), ErrorCode.InvalidFrame, ['sourceId']);
    expectError(decodeClientFrame(send({ cliToMpc: { ['b'.repeat(129)]: MPC } })), ErrorCode.InvalidFrame, [
      `cliToMpc.${'b'.repeat(129)}`,
    ]);
  });

  it('uuid ids and the original demo ids pass', () => {
    const uuid = '6f3a8b0b-1f7f-4681-ae94-2b213f95f8a0';
    expect(decodeClientFrame(send({ sourceId: uuid, cliToMpc: { [uuid]: uuid } })).ok).toBe(true);
    expect(decodeClientFrame(send({ sourceId: 'node_1.eu-west' })).ok).toBe(true);
  });

  it('cliToMpc with 0 entries -> INVALID_FRAME at cliToMpc', () => {
    const error = expectError(decodeClientFrame(send({ cliToMpc: {} })), ErrorCode.InvalidFrame, [
      'cliToMpc',
    ]);
    expect(error.issues?.[0]?.message).toContain('exactly one');
  });

  it('cliToMpc with 2 entries -> INVALID_FRAME at cliToMpc', () => {
    expectError(decodeClientFrame(send({ cliToMpc: { [CLI]: MPC, cli456: MPC } })), ErrorCode.InvalidFrame, [
      'cliToMpc',
    ]);
  });

  it('cliToMpc that is not an object -> INVALID_FRAME at cliToMpc', () => {
    for (const cliToMpc of ['cli123', [CLI, MPC], null, 1]) {
      expectError(decodeClientFrame(send({ cliToMpc })), ErrorCode.InvalidFrame, ['cliToMpc']);
    }
  });

  it('cliToMpc with a bad cli id (key) or mpc id (value) -> INVALID_FRAME at cliToMpc.KEY', () => {
    const badKey = expectError(
      decodeClientFrame(send({ cliToMpc: { 'bad id': MPC } })),
      ErrorCode.InvalidFrame,
      ['cliToMpc.bad id'],
    );
    expect(badKey.issues?.[0]?.message).toContain('may only contain');
    expectError(decodeClientFrame(send({ cliToMpc: { [CLI]: 'bad id' } })), ErrorCode.InvalidFrame, [
      `cliToMpc.${CLI}`,
    ]);
    expectError(decodeClientFrame(send({ cliToMpc: { [CLI]: 7 } })), ErrorCode.InvalidFrame, [
      `cliToMpc.${CLI}`,
    ]);
  });

  it('missing operationType -> INVALID_FRAME at operationType', () => {
    expectError(decodeClientFrame(send({}, ['operationType'])), ErrorCode.InvalidFrame, ['operationType']);
  });

  for (const operationType of ['', 'has space', 'x'.repeat(65), 'sig/n', 3, null, {}]) {
    it(`bad operationType ${JSON.stringify(operationType)} -> INVALID_FRAME at operationType`, () => {
      expectError(decodeClientFrame(send({ operationType })), ErrorCode.InvalidFrame, ['operationType']);
    });
  }

  it('operationType: 64 characters among letters, digits, _ - . : pass', () => {
    expect(decodeClientFrame(send({ operationType: 'a'.repeat(64), message: 1 })).ok).toBe(true);
    expect(decodeClientFrame(send({ operationType: 'eddsa:Round_2.v-1', message: 1 })).ok).toBe(true);
  });

  it('missing message -> INVALID_FRAME at message', () => {
    const error = expectError(decodeClientFrame(send({}, ['message'])), ErrorCode.InvalidFrame, ['message']);
    expect(error.issues?.[0]?.message).toBe('is required');
  });

  it('clientMsgId (v2) must be 1 to 128 characters', () => {
    expect(decodeClientFrame(send({ clientMsgId: 'm'.repeat(128) })).ok).toBe(true);
    expectError(decodeClientFrame(send({ clientMsgId: '' })), ErrorCode.InvalidFrame, ['clientMsgId']);
    expectError(decodeClientFrame(send({ clientMsgId: 'm'.repeat(129) })), ErrorCode.InvalidFrame, [
      'clientMsgId',
    ]);
    expectError(decodeClientFrame(send({ clientMsgId: 12 })), ErrorCode.InvalidFrame, ['clientMsgId']);
  });

  it('several problems are all reported', () => {
    const error = expectError(
      decodeClientFrame('{"action":"sendServer","sourceId":"","cliToMpc":{}}'),
      ErrorCode.InvalidFrame,
    );
    expect(error.issues?.map((issue) => issue.path).sort()).toEqual(
      ['cliToMpc', 'message', 'operationType', 'sourceId'].sort(),
    );
  });
});

describe('decodeClientFrame: known operation types need their message fields', () => {
  const cases: [string, Record<string, unknown>, unknown, string[]][] = [
    ['PartialSig without partialSig', {}, { ...partialSig, partialSig: undefined }, ['message.partialSig']],
    [
      'PartialSig without teamId and accountHash',
      {},
      { transactionId: 'x', partialSig: 'p' },
      ['message.accountHash', 'message.teamId'],
    ],
    ['PartialSig with a numeric partialSig', {}, { ...partialSig, partialSig: 5 }, ['message.partialSig']],
    ['PartialSig message that is a string', {}, 'partialSig', ['message']],
    ['PartialSig message that is null', {}, null, ['message']],
    ['PartialSig message that is an array', {}, [partialSig], ['message']],
    [
      'FullSig without signatureV',
      { operationType: 'FullSig', sourceId: CLI, cliToMpc: undefined },
      { accountHash: 'a', signatureR: 'r', signatureS: 's', teamId: 't', transactionId: 'x' },
      ['message.signatureV'],
    ],
    ['signing without txId', { operationType: 'signing' }, { signature: '0x' }, ['message.txId']],
    ['fullSig without signature', { operationType: 'fullSig' }, { txId: 'abc' }, ['message.signature']],
  ];
  for (const [name, overrides, message, paths] of cases) {
    it(`${name} -> INVALID_FRAME at ${paths.join(', ')}`, () => {
      const error = expectError(
        decodeClientFrame(send({ ...overrides, message })),
        ErrorCode.InvalidFrame,
        paths,
      );
      expect(error.message).toMatch(/^invalid \w+ message: /);
    });
  }

  it('operation type names are case-sensitive: partialsig is an unknown type and passes as opaque JSON', () => {
    expect(decodeClientFrame(send({ operationType: 'partialsig', message: 'anything' })).ok).toBe(true);
  });
});

describe('decodeClientFrame: size (UTF-8 bytes) and depth limits', () => {
  /** A valid frame of exactly `bytes` UTF-8 bytes, padded with `pad` (1 to 4 bytes each). */
  function frameOfBytes(bytes: number, pad: string): string {
    const empty = send({ operationType: 'Blob', message: '' });
    const room = bytes - utf8Length(empty);
    const unit = utf8Length(pad);
    const filler = pad.repeat(Math.floor(room / unit)) + 'a'.repeat(room % unit);
    const text = send({ operationType: 'Blob', message: filler });
    expect(utf8Length(text)).toBe(bytes);
    return text;
  }

  for (const [name, pad] of [
    ['ASCII', 'a'],
    ['2-byte é', 'é'],
    ['3-byte €', '€'],
    ['4-byte emoji (2 UTF-16 units)', '😀'],
  ] as const) {
    it(`${name}: exactly MAX_MESSAGE_BYTES passes, one byte more -> MESSAGE_TOO_LARGE`, () => {
      expect(decodeClientFrame(frameOfBytes(MAX_MESSAGE_BYTES, pad)).ok).toBe(true);
      const error = expectError(
        decodeClientFrame(frameOfBytes(MAX_MESSAGE_BYTES + 1, pad)),
        ErrorCode.MessageTooLarge,
      );
      expect(error.message).toContain(`${MAX_MESSAGE_BYTES + 1} bytes`);
      expect(error.message).toContain(`${MAX_MESSAGE_BYTES}`);
    });
  }

  it('counts bytes, not characters: 50 000 "€" are 150 000 bytes', () => {
    const text = send({ operationType: 'Blob', message: '€'.repeat(50_000) });
    expect(text.length).toBeLessThan(MAX_MESSAGE_BYTES);
    expectError(decodeClientFrame(text), ErrorCode.MessageTooLarge);
  });

  it('the limit is checked before parsing (oversize garbage is too large, not invalid JSON)', () => {
    expectError(decodeClientFrame('x'.repeat(MAX_MESSAGE_BYTES + 1)), ErrorCode.MessageTooLarge);
  });

  it('takes a custom limit', () => {
    const text = send({});
    expect(decodeClientFrame(text, utf8Length(text)).ok).toBe(true);
    expectError(decodeClientFrame(text, utf8Length(text) - 1), ErrorCode.MessageTooLarge);
  });

  const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it(`JSON nested ${MAX_JSON_DEPTH} levels deep passes; one more -> INVALID_FRAME`, () => {
    // The frame object is level 1, so the message may hold MAX_JSON_DEPTH - 1 levels.
    const ok = `{"action":"sendServer","sourceId":"${MPC}","operationType":"Deep","message":${nested(MAX_JSON_DEPTH - 1)}}`;
    expect(decodeClientFrame(ok).ok).toBe(true);
    const deep = `{"action":"sendServer","sourceId":"${MPC}","operationType":"Deep","message":${nested(MAX_JSON_DEPTH)}}`;
    expectError(decodeClientFrame(deep), ErrorCode.InvalidFrame, ['(root)']);
  });

  it('brackets inside strings do not count as nesting', () => {
    const text = send({ operationType: 'Text', message: `${'[{'.repeat(5000)}\\"${'}]'.repeat(10)}` });
    expect(decodeClientFrame(text).ok).toBe(true);
  });

  it('60 000 levels (within the byte limit) are refused, not a crash', () => {
    const text = `{"action":"sendServer","sourceId":"${MPC}","operationType":"Deep","message":${nested(60_000)}}`;
    expectError(decodeClientFrame(text), ErrorCode.InvalidFrame, ['(root)']);
  });
});

describe('decodeClientFrame: ack and ping (protocol v2)', () => {
  it('ping and a valid ack decode', () => {
    expect(decodeClientFrame('{"action":"ping"}')).toEqual({ ok: true, value: { action: 'ping' } });
    expect(decodeClientFrame('{"action":"ack","messageIds":["m1","m2"]}')).toEqual({
      ok: true,
      value: { action: 'ack', messageIds: ['m1', 'm2'] },
    });
  });

  it('ack: missing, empty, not an array, bad ids -> INVALID_FRAME at messageIds', () => {
    expectError(decodeClientFrame('{"action":"ack"}'), ErrorCode.InvalidFrame, ['messageIds']);
    expectError(decodeClientFrame('{"action":"ack","messageIds":[]}'), ErrorCode.InvalidFrame, [
      'messageIds',
    ]);
    expectError(decodeClientFrame('{"action":"ack","messageIds":"m1"}'), ErrorCode.InvalidFrame, [
      'messageIds',
    ]);
    expectError(decodeClientFrame('{"action":"ack","messageIds":["m1",""]}'), ErrorCode.InvalidFrame, [
      'messageIds.1',
    ]);
    expectError(decodeClientFrame('{"action":"ack","messageIds":[1]}'), ErrorCode.InvalidFrame, [
      'messageIds.0',
    ]);
  });

  it(`ack: ${MAX_ACK_IDS} ids pass, ${MAX_ACK_IDS + 1} -> INVALID_FRAME at messageIds`, () => {
    const ids = (count: number) =>
      JSON.stringify({ action: 'ack', messageIds: Array.from({ length: count }, (_, i) => `m${i}`) });
    expect(decodeClientFrame(ids(MAX_ACK_IDS)).ok).toBe(true);
    const error = expectError(decodeClientFrame(ids(MAX_ACK_IDS + 1)), ErrorCode.InvalidFrame, [
      'messageIds',
    ]);
    expect(error.issues?.[0]?.message).toContain(`${MAX_ACK_IDS}`);
  });

  it(`many bad ids: at most ${MAX_ERROR_ISSUES} issues, the rest counted in the message`, () => {
    const error = expectError(
      decodeClientFrame(JSON.stringify({ action: 'ack', messageIds: Array(MAX_ACK_IDS).fill('') })),
      ErrorCode.InvalidFrame,
    );
    expect(error.issues).toHaveLength(MAX_ERROR_ISSUES);
    expect(error.message).toContain(`and ${MAX_ACK_IDS - 3} more`);
  });
});

describe('error frames stay small whatever the input', () => {
  it('1 500 bad cliToMpc keys of 60 characters give an error frame under 8 KB', () => {
    const cliToMpc = Object.fromEntries(
      Array.from({ length: 1500 }, (_, i) => [`bad key ${i} ${'x'.repeat(50)}`, MPC]),
    );
    const result = decodeClientFrame(send({ cliToMpc }));
    const error = expectError(result, ErrorCode.InvalidFrame);
    const frame = encodeError(error);
    expect(utf8Length(frame)).toBeLessThan(8 * 1024);
    expect(JSON.parse(frame).error.issues).toHaveLength(MAX_ERROR_ISSUES);
  });

  it('a 100 KB key is clipped in the issue path', () => {
    const error = expectError(
      decodeClientFrame(send({ cliToMpc: { ['k'.repeat(100_000)]: MPC } })),
      ErrorCode.InvalidFrame,
    );
    expect(error.issues?.[0]?.path.length).toBeLessThanOrEqual(300);
    expect(utf8Length(encodeError(error))).toBeLessThan(2048);
  });
});

describe('validateOperationMessage', () => {
  it('unknown operation types accept any JSON value', () => {
    for (const message of [null, 0, 'text', [], {}, { nested: [{ deep: true }] }]) {
      expect(validateOperationMessage('NewOperation', message)).toEqual({ ok: true, value: message });
    }
  });

  it('known operation types check their fields, with paths under message', () => {
    expect(validateOperationMessage('PartialSig', partialSig)).toEqual({ ok: true, value: partialSig });
    expectError(
      validateOperationMessage('PartialSig', { ...partialSig, partialSig: undefined }),
      ErrorCode.InvalidFrame,
      ['message.partialSig'],
    );
    expectError(validateOperationMessage('PartialSig', undefined), ErrorCode.InvalidFrame, ['message']);
    expectError(validateOperationMessage('FullSig', {}), ErrorCode.InvalidFrame, [
      'message.accountHash',
      'message.signatureR',
      'message.signatureS',
      'message.signatureV',
      'message.teamId',
      'message.transactionId',
    ]);
  });

  it('inherited property names are not operation types', () => {
    expect(validateOperationMessage('toString', 1).ok).toBe(true);
    expect(validateOperationMessage('__proto__', 1).ok).toBe(true);
  });
});

describe('decodeRelayFrame: error paths', () => {
  it('not a JSON object -> INVALID_JSON', () => {
    for (const text of ['', 'Forbidden', '[]', 'null', '1', '"x"']) {
      expectError(decodeRelayFrame(text), ErrorCode.InvalidJson);
    }
  });

  it('an object of no known shape -> INVALID_FRAME at (root)', () => {
    expectError(decodeRelayFrame('{}'), ErrorCode.InvalidFrame, ['(root)']);
    expectError(decodeRelayFrame('{"action":"sendServer"}'), ErrorCode.InvalidFrame, ['(root)']);
  });

  it('oversize -> MESSAGE_TOO_LARGE', () => {
    const text = JSON.stringify({
      operationType: 'X',
      from: MPC,
      message: 'é'.repeat(MAX_MESSAGE_BYTES / 2),
    });
    expectError(decodeRelayFrame(text), ErrorCode.MessageTooLarge);
  });

  const cases: [string, string, string[]][] = [
    ['connectionId empty', '{"connectionId":""}', ['connectionId']],
    ['connectionId not a string', '{"connectionId":5}', ['connectionId']],
    ['cli delivery with a bad from', '{"operationType":"X","from":"a b","message":1}', ['from']],
    ['cli delivery without from', '{"operationType":"X","message":1}', ['from']],
    ['cli delivery without message', '{"operationType":"X","from":"a"}', ['message']],
    ['mpc delivery with a bad to', '{"operationType":"X","from":"a","to":"","message":1}', ['to']],
    [
      'v2 delivery without sentAt',
      '{"operationType":"X","from":"a","message":1,"messageId":"m"}',
      ['sentAt'],
    ],
    [
      'v2 delivery with an empty messageId',
      '{"operationType":"X","from":"a","message":1,"messageId":"","sentAt":1}',
      ['messageId'],
    ],
    ['ack with a bad status', '{"ack":{"clientMsgId":"c","messageId":"m","status":"lost"}}', ['ack.status']],
    ['ack that is not an object', '{"ack":true}', ['ack']],
    ['pong that is not an integer', '{"pong":1.5}', ['pong']],
    ['error without code', '{"error":{"message":"m"}}', ['error.code']],
    ['error without message', '{"error":{"code":"INTERNAL"}}', ['error.message']],
    [
      'error with bad issues',
      '{"error":{"code":"INTERNAL","message":"m","issues":[{"path":1}]}}',
      ['error.issues.0.path', 'error.issues.0.message'],
    ],
    ['gateway frame with a non-string message', '{"message":42,"connectionId":"c"}', ['message']],
  ];
  for (const [name, text, paths] of cases) {
    it(`${name} -> INVALID_FRAME at ${paths.join(', ')}`, () => {
      expectError(decodeRelayFrame(text), ErrorCode.InvalidFrame, paths);
    });
  }
});

describe('decodeRelayFrame: tolerant of what later relays may add', () => {
  it('extra fields beside connectionId', () => {
    expect(decodeRelayFrame('{"connectionId":"abc=","peerId":"cli123"}')).toEqual({
      ok: true,
      value: { kind: 'connectionId', frame: { connectionId: 'abc=', peerId: 'cli123' } },
    });
  });

  it('an error code this version does not know, and extra error fields', () => {
    const decoded = decodeRelayFrame(
      '{"error":{"code":"RATE_LIMITED","message":"slow down","retryAfter":3}}',
    );
    expect(decoded).toEqual({
      ok: true,
      value: {
        kind: 'error',
        frame: { error: { code: 'RATE_LIMITED', message: 'slow down', retryAfter: 3 } },
      },
    });
  });

  it("API Gateway's own frames", () => {
    const forbidden = '{"message": "Forbidden", "connectionId":"WyHPAfymhcwCENw=", "requestId":"abc"}';
    expect(decodeRelayFrame(forbidden)).toMatchObject({ ok: true, value: { kind: 'gatewayError' } });
    expect(decodeRelayFrame('{"message":"Internal server error"}')).toMatchObject({
      ok: true,
      value: { kind: 'gatewayError', frame: { message: 'Internal server error' } },
    });
  });
});

describe('parseConnectParams', () => {
  it('returns the peer for ?type=cli&cliId=ID and ?type=mpc&mpcId=ID', () => {
    expect(parseConnectParams({ type: 'cli', cliId: '6f3a8b0b-1f7f-4681-ae94-2b213f95f8a0' })).toEqual({
      ok: true,
      value: { type: 'cli', id: '6f3a8b0b-1f7f-4681-ae94-2b213f95f8a0' },
    });
    expect(parseConnectParams({ type: 'mpc', mpcId: MPC, token: 'abc', other: 'ignored' })).toEqual({
      ok: true,
      value: { type: 'mpc', id: MPC },
    });
  });

  const cases: [string, Record<string, string | undefined> | null | undefined, string[]][] = [
    ['no query string (null)', null, ['type']],
    ['no query string (undefined)', undefined, ['type']],
    ['no parameters', {}, ['type']],
    ['missing type', { cliId: CLI }, ['type']],
    ['wrong type', { type: 'admin', cliId: CLI }, ['type']],
    ['type in capitals', { type: 'CLI', cliId: CLI }, ['type']],
    ['cli without cliId', { type: 'cli' }, ['cliId']],
    ['cli with mpcId instead of cliId', { type: 'cli', mpcId: MPC }, ['cliId']],
    ['mpc without mpcId', { type: 'mpc' }, ['mpcId']],
    ['mpc with cliId instead of mpcId', { type: 'mpc', cliId: CLI }, ['mpcId']],
    ['empty cliId', { type: 'cli', cliId: '' }, ['cliId']],
    ['cliId with bad characters', { type: 'cli', cliId: 'cli 123' }, ['cliId']],
    ['mpcId with a colon', { type: 'mpc', mpcId: 'mpc:1' }, ['mpcId']],
    ['mpcId too long', { type: 'mpc', mpcId: 'm'.repeat(129) }, ['mpcId']],
    ['empty token', { type: 'mpc', mpcId: MPC, token: '' }, ['token']],
  ];
  for (const [name, query, paths] of cases) {
    it(`${name} -> INVALID_FRAME at ${paths.join(', ')}`, () => {
      const error = expectError(parseConnectParams(query), ErrorCode.InvalidFrame, paths);
      expect(error.message).toContain('?type=cli&cliId=ID');
    });
  }
});

describe('encodeError', () => {
  it('has the documented shape and key order', () => {
    expect(
      encodeError({
        code: ErrorCode.SpoofedSource,
        message: 'sourceId is not your id',
        issues: [{ path: 'sourceId', message: 'must be cli123' }],
      }),
    ).toBe(
      '{"error":{"code":"SPOOFED_SOURCE","message":"sourceId is not your id","issues":[{"path":"sourceId","message":"must be cli123"}]}}',
    );
    expect(
      encodeError({
        code: ErrorCode.NoMapping,
        message: 'm',
        issues: [],
        action: 'sendServer',
        clientMsgId: 'c1',
      }),
    ).toBe('{"error":{"code":"NO_MAPPING","message":"m","action":"sendServer","clientMsgId":"c1"}}');
  });

  it('every code is a stable upper-case string, and decodes back', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) {
      expect(code).toMatch(/^[A-Z_]+$/);
      expect(decodeRelayFrame(encodeError({ code, message: code }))).toMatchObject({
        ok: true,
        value: { kind: 'error', frame: { error: { code } } },
      });
    }
  });

  it('TOKEN_EXPIRED was added without touching the earlier codes (backward compatible)', () => {
    expect(ErrorCode.TokenExpired).toBe('TOKEN_EXPIRED');
    expect(ERROR_CODES.slice(0, 12)).toEqual([
      'INVALID_JSON',
      'INVALID_FRAME',
      'UNKNOWN_ACTION',
      'MESSAGE_TOO_LARGE',
      'SPOOFED_SOURCE',
      'INVALID_TARGET',
      'NO_MAPPING',
      'FORBIDDEN',
      'OPERATION_NOT_ALLOWED',
      'EXPIRED',
      'THROTTLED',
      'INTERNAL',
    ]);
    expect(
      decodeRelayFrame(
        encodeError({ code: ErrorCode.TokenExpired, message: 'your token expired', action: 'ping' }),
      ),
    ).toMatchObject({ ok: true, value: { kind: 'error', frame: { error: { code: 'TOKEN_EXPIRED' } } } });
  });

  it('clips long texts and caps issues', () => {
    const frame = encodeError({
      code: ErrorCode.InvalidFrame,
      message: 'm'.repeat(10_000),
      issues: Array.from({ length: 100 }, (_, i) => ({ path: `p${i}`, message: 'x'.repeat(1000) })),
    });
    const parsed = JSON.parse(frame);
    expect(parsed.error.message.length).toBeLessThanOrEqual(600);
    expect(parsed.error.issues).toHaveLength(MAX_ERROR_ISSUES);
    expect(utf8Length(frame)).toBeLessThan(8 * 1024);
    expect(decodeRelayFrame(frame).ok).toBe(true);
  });
});
