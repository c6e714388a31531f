// The JSON Schema files the build ships (schemas/*.json), for services in other languages: one per
// frame, up to date, and they accept the original demo's frames and refuse what the decoder refuses.
import { readdirSync, readFileSync } from 'node:fs';
import { fixture, GET_CONNECTION_ID_FIXTURE, V1_EXAMPLES } from '@mpc-relay/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildJsonSchema,
  decodeClientFrame,
  ErrorCode,
  encodeAckResult,
  encodeCliDelivery,
  encodeConnectionId,
  encodeError,
  encodeMpcDelivery,
  encodePong,
  encodeV2Delivery,
  JSON_SCHEMA_FRAMES,
  JSON_SCHEMA_ID_BASE,
  KNOWN_OPERATION_TYPES,
  MESSAGE_SCHEMA_FILES,
} from '../src/index.js';
import { type Schema, validate } from './mini-json-schema.js';

const schemasDir = new URL('../schemas/', import.meta.url);

function schemaFile(name: string): Schema {
  return JSON.parse(readFileSync(new URL(`${name}.json`, schemasDir), 'utf8'));
}

function expectValid(name: string, value: unknown): void {
  expect(validate(schemaFile(name), value), `${name}: ${JSON.stringify(value).slice(0, 200)}`).toEqual([]);
}

function expectInvalid(name: string, value: unknown): void {
  expect(
    validate(schemaFile(name), value).length,
    `${name} accepted ${JSON.stringify(value)}`,
  ).toBeGreaterThan(0);
}

describe('schema files', () => {
  it('one file per frame of JSON_SCHEMA_FRAMES, and nothing else', () => {
    const files = readdirSync(schemasDir).sort();
    expect(files).toEqual(
      Object.keys(JSON_SCHEMA_FRAMES)
        .map((name) => `${name}.json`)
        .sort(),
    );
  });

  for (const name of Object.keys(JSON_SCHEMA_FRAMES)) {
    it(`${name}.json is draft 2020-12, has its $id and title, and matches the sources`, () => {
      const text = readFileSync(new URL(`${name}.json`, schemasDir), 'utf8');
      const schema = JSON.parse(text);
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.$id).toBe(`${JSON_SCHEMA_ID_BASE}${name}.json`);
      expect(typeof schema.title).toBe('string');
      expect(text).toBe(`${JSON.stringify(buildJsonSchema(name), null, 2)}\n`);
    });
  }

  it('covers every client action, relay frame and known message', () => {
    const names = Object.keys(JSON_SCHEMA_FRAMES);
    for (const action of ['get-connection-id', 'send-server', 'ack', 'ping'])
      expect(names).toContain(`client.${action}`);
    for (const kind of [
      'connection-id',
      'cli-delivery',
      'mpc-delivery',
      'v2-delivery',
      'ack',
      'pong',
      'error',
    ]) {
      expect(names).toContain(`relay.${kind}`);
    }
    for (const type of KNOWN_OPERATION_TYPES) expect(names).toContain(MESSAGE_SCHEMA_FILES[type]);
    expect(names).toContain('connect-params');
  });

  it('file names are lowercase kebab-case: no two differ only by case (macOS, Windows)', () => {
    const names = Object.keys(JSON_SCHEMA_FRAMES);
    for (const name of names) expect(name).toMatch(/^[a-z0-9]+(?:[.-][a-z0-9]+)*$/);
    expect(new Set(names.map((name) => name.toLowerCase())).size).toBe(names.length);
    expect(new Set(Object.values(MESSAGE_SCHEMA_FILES)).size).toBe(KNOWN_OPERATION_TYPES.length);
  });

  it('buildJsonSchema names the frames it knows', () => {
    expect(() => buildJsonSchema('client.nope')).toThrow(/no frame named/);
  });
});

describe('client.send-server.json', () => {
  const schema = () =>
    schemaFile('client.send-server') as {
      properties: Record<string, unknown>;
      required: string[];
      allOf: unknown[];
    };

  it('says cliToMpc has exactly one entry', () => {
    expect(schema().properties.cliToMpc).toMatchObject({
      type: 'object',
      minProperties: 1,
      maxProperties: 1,
    });
  });

  it('requires action, sourceId, operationType and message', () => {
    expect(schema().required).toEqual(['action', 'sourceId', 'operationType', 'message']);
  });

  it('requires the known operation types’ message fields', () => {
    expect(schema().allOf).toHaveLength(KNOWN_OPERATION_TYPES.length);
  });

  const base = { action: 'sendServer', sourceId: 'IgniterC56D', operationType: 'Other', message: 1 };
  it('refuses what the decoder refuses', () => {
    expectValid('client.send-server', base);
    expectValid('client.send-server', { ...base, cliToMpc: { cli123: 'IgniterC56D' } });
    expectInvalid('client.send-server', { ...base, cliToMpc: {} });
    expectInvalid('client.send-server', {
      ...base,
      cliToMpc: { cli123: 'IgniterC56D', cli456: 'IgniterC56D' },
    });
    expectInvalid('client.send-server', { ...base, cliToMpc: { 'bad id': 'IgniterC56D' } });
    expectInvalid('client.send-server', { ...base, sourceId: 'a:b' });
    expectInvalid('client.send-server', { ...base, sourceId: 'x'.repeat(129) });
    expectInvalid('client.send-server', { ...base, operationType: '' });
    const { message: _message, ...withoutMessage } = base;
    expectInvalid('client.send-server', withoutMessage);
    expectValid('client.send-server', { ...base, message: null });
    expectInvalid('client.send-server', { ...base, operationType: 'PartialSig', message: { teamId: 't' } });
    expectInvalid('client.send-server', { ...base, operationType: 'FullSig', message: 'r,s,v' });
  });

  it('agrees with decodeClientFrame on generated frames (property)', () => {
    const id = fc.oneof(
      fc.constantFrom('cli123', 'IgniterC56D', '', 'a b', 'x:y', 'z'.repeat(129)),
      fc.string(),
    );
    const frame = fc.record(
      {
        action: fc.constant('sendServer'),
        sourceId: fc.oneof(id, fc.integer()),
        cliToMpc: fc.dictionary(id, fc.oneof(id, fc.constant(null)), { maxKeys: 3 }),
        operationType: fc.oneof(fc.constantFrom(...KNOWN_OPERATION_TYPES, 'Other', ''), fc.string()),
        message: fc.oneof(
          fc.jsonValue({ maxDepth: 2 }),
          fc.record(
            {
              accountHash: fc.constant('a'),
              teamId: fc.oneof(fc.constant('t'), fc.integer()),
              transactionId: fc.constant('x'),
              partialSig: fc.constant('p'),
              signatureR: fc.constant('r'),
              signatureS: fc.constant('s'),
              signatureV: fc.constant('v'),
              txId: fc.constant('abc'),
              signature: fc.constant('0x'),
            },
            { requiredKeys: [] },
          ),
        ),
        clientMsgId: fc.stringMatching(/^[a-z0-9-]{0,130}$/),
      },
      { requiredKeys: ['action'] },
    );
    fc.assert(
      fc.property(frame, (value) => {
        const decoded = decodeClientFrame(JSON.stringify(value));
        const errors = validate(schemaFile('client.send-server'), JSON.parse(JSON.stringify(value)));
        expect(errors.length === 0, `decoder ${decoded.ok}, schema ${errors.join('; ')}`).toBe(decoded.ok);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the v1 frames satisfy their schemas', () => {
  it('getConnectionId', () => {
    expectValid('client.get-connection-id', JSON.parse(fixture(GET_CONNECTION_ID_FIXTURE)));
  });

  const received = {
    wscatSigning: ['relay.cli-delivery', 'message.walkthrough-signing'],
    wscatFullSig: ['relay.mpc-delivery', 'message.walkthrough-full-sig'],
    realPartialSig: ['relay.cli-delivery', 'message.partial-sig'],
    realFullSig: ['relay.mpc-delivery', 'message.full-sig'],
  } as const;
  for (const [example, files] of Object.entries(V1_EXAMPLES)) {
    it(example, () => {
      const [relaySchema, messageSchema] = received[example as keyof typeof received];
      const sent = JSON.parse(fixture(files.sent));
      expectValid('client.send-server', sent);
      expectValid(messageSchema, sent.message);
      expectValid(relaySchema, JSON.parse(fixture(files.received)));
      // A cli delivery is not an mpc delivery and the other way round (additionalProperties false).
      const other = relaySchema === 'relay.cli-delivery' ? 'relay.mpc-delivery' : 'relay.cli-delivery';
      expectInvalid(other, JSON.parse(fixture(files.received)));
    });
  }
});

describe('every encoder output satisfies its relay schema', () => {
  it('all relay frame kinds', () => {
    const message = { accountHash: 'a', teamId: 't', transactionId: 'x', partialSig: 'p' };
    const frames: [string, string][] = [
      ['relay.connection-id', encodeConnectionId('WyHPAfymhcwCENw=')],
      [
        'relay.cli-delivery',
        encodeCliDelivery({ operationType: 'PartialSig', from: 'IgniterC56D', message }),
      ],
      [
        'relay.mpc-delivery',
        encodeMpcDelivery({ operationType: 'FullSig', from: 'cli123', to: 'IgniterC56D', message }),
      ],
      [
        'relay.v2-delivery',
        encodeV2Delivery({
          operationType: 'PartialSig',
          from: 'IgniterC56D',
          message,
          messageId: '01J9ZX',
          clientMsgId: 'c-1',
          sentAt: 1_732_000_000_000,
        }),
      ],
      ['relay.ack', encodeAckResult({ clientMsgId: 'c-1', messageId: '01J9ZX', status: 'stored' })],
      ['relay.pong', encodePong(1_732_000_000_000)],
      [
        'relay.error',
        encodeError({
          code: ErrorCode.SpoofedSource,
          message: 'sourceId does not match your connection',
          issues: [{ path: 'sourceId', message: 'must be IgniterC56D' }],
          action: 'sendServer',
        }),
      ],
      [
        'relay.gateway-error',
        '{"message": "Forbidden", "connectionId":"WyHPAfymhcwCENw=", "requestId":"r-1"}',
      ],
    ];
    for (const [name, text] of frames) expectValid(name, JSON.parse(text));
    expectInvalid('relay.error', { error: { code: 'NOT_A_CODE', message: 'm' } });
  });

  it('connect-params', () => {
    expectValid('connect-params', { type: 'cli', cliId: '6f3a8b0b-1f7f-4681-ae94-2b213f95f8a0' });
    expectValid('connect-params', { type: 'mpc', mpcId: 'IgniterC56D', token: 'eyJ...' });
    expectInvalid('connect-params', { type: 'cli', mpcId: 'IgniterC56D' });
    expectInvalid('connect-params', { type: 'admin', cliId: 'x' });
    expectInvalid('connect-params', { cliId: 'x' });
  });

  it('client.ack and client.ping', () => {
    expectValid('client.ack', { action: 'ack', messageIds: ['m1'] });
    expectInvalid('client.ack', { action: 'ack', messageIds: [] });
    expectInvalid('client.ack', {
      action: 'ack',
      messageIds: Array.from({ length: 101 }, (_, i) => `m${i}`),
    });
    expectValid('client.ping', { action: 'ping' });
  });
});
