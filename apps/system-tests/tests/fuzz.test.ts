/**
 * Fuzzing through the real gateway (the relay command as a process, real bundles, real dynalite):
 * arbitrary text, arbitrary JSON, real actions with arbitrary fields, frames and messages around the
 * 32 KB / 128 KB limits, deep nesting, binary frames, invalid UTF-8. The relay answers every frame
 * it keeps (frames a client can decode) or closes as API Gateway does (1009 too big, 1003 binary,
 * 1007 invalid UTF-8, the code `ws` uses), the process never dies, and after every property an
 * unrelated v1 pair still relays exactly once.
 */
import { MAX_FRAME_BYTES, MAX_JSON_DEPTH, MAX_MESSAGE_BYTES, PROTOCOL_V2 } from '@mpc-relay/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDecodable, FuzzConnection, sendFragmented } from './helpers/fuzz-conn.js';
import { pairReport, settlePairs } from './helpers/pairs.js';
import { RelayProcess } from './helpers/relay-process.js';
import { V1Pair } from './helpers/v1-client.js';
import { removeTempDirs, tempDir } from './helpers/wait.js';

let relay: RelayProcess;
let url: string;
let sentinel: V1Pair;
let mpc: FuzzConnection;
let cli: FuzzConnection;
let mpcV2: FuzzConnection;
let cliV2: FuzzConnection;
let sentinelV2: V1Pair;
let checks = 0;

beforeAll(async () => {
  ({ relay, url } = await RelayProcess.start({ port: 0, dataDir: tempDir('fuzz') }));
  sentinel = new V1Pair(() => url, 'sentinel-7f3a9c');
  sentinelV2 = new V1Pair(() => url, 'sentinel-v2-7f3a9c', { v2: true });
  await Promise.all([sentinel.connect(), sentinelV2.connect()]);
  mpc = new FuzzConnection(() => url, { type: 'mpc', id: 'fuzz-mpc' });
  cli = new FuzzConnection(() => url, { type: 'cli', id: 'fuzz-cli' });
  mpcV2 = new FuzzConnection(() => url, { type: 'mpc', id: 'fuzz-mpc-v2' }, [PROTOCOL_V2]);
  cliV2 = new FuzzConnection(() => url, { type: 'cli', id: 'fuzz-cli-v2' }, [PROTOCOL_V2]);
});

afterAll(async () => {
  for (const connection of [mpc, cli, mpcV2, cliV2]) connection?.close();
  await sentinel?.stop();
  await sentinelV2?.stop();
  await relay?.stop().catch(() => relay.kill());
  removeTempDirs();
});

/** The relay process is alive and two unrelated pairs (v1, v2) relay PartialSig/FullSig exactly once. */
async function expectSentinelRelays(): Promise<void> {
  expect(relay.running).toBe(true);
  checks += 1;
  for (const pair of [sentinel, sentinelV2]) {
    for (let i = 0; i < 3; i++) await pair.send(`sentinel-${checks}-${i}`);
  }
  expect(await settlePairs([sentinel, sentinelV2])).toBe(true);
  const report = pairReport([sentinel, sentinelV2]);
  expect(report).toMatchObject({
    duplicatedAtCli: 0,
    duplicatedAtMpc: 0,
    unexpected: 0,
    missingAtCli: 0,
    missingAtMpc: 0,
    reconnects: 0,
  });
}

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** Kept open and every frame answered with something a client can decode. */
function expectAnswered(exchange: Awaited<ReturnType<FuzzConnection['exchange']>>, mustAnswer = true) {
  expect(exchange.closed).toBe(false);
  expect(allDecodable(exchange.answers)).toBe(true);
  if (mustAnswer) expect(exchange.answers.length).toBeGreaterThan(0);
}

describe('fuzzing the gateway and handlers', () => {
  it('arbitrary text frames are answered, the connection stays open', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 2_000 }), async (text) => {
        fc.pre(!text.includes('fuzz-end-'));
        const exchange = await mpc.exchange((s) => s.send(text));
        expectAnswered(exchange);
      }),
      { numRuns: 200 },
    );
    await expectSentinelRelays();
  });

  it('arbitrary JSON values are answered, the connection stays open', async () => {
    await fc.assert(
      fc.asyncProperty(fc.json({ maxDepth: 6 }), async (json) => {
        const exchange = await cli.exchange((s) => s.send(json));
        expectAnswered(exchange);
      }),
      { numRuns: 200 },
    );
    await expectSentinelRelays();
  });

  it('real actions with arbitrary fields: answered (or accepted silently when valid), never a crash', async () => {
    const anyId = fc.oneof(fc.constantFrom('fuzz-mpc', 'fuzz-cli', 'x'), fc.string({ maxLength: 140 }));
    const frame = fc.record(
      {
        action: fc.constantFrom('sendServer', 'getConnectionId', 'ack', 'ping'),
        sourceId: fc.oneof(anyId, fc.jsonValue()),
        cliToMpc: fc.oneof(fc.dictionary(anyId, anyId, { maxKeys: 3 }), fc.jsonValue()),
        operationType: fc.oneof(
          fc.constantFrom('PartialSig', 'FullSig', 'signing', 'fullSig', 'custom.op'),
          fc.string({ maxLength: 80 }),
        ),
        message: fc.jsonValue({ maxDepth: 4 }),
        clientMsgId: fc.oneof(fc.string({ maxLength: 140 }), fc.jsonValue()),
        messageIds: fc.oneof(fc.array(fc.string({ maxLength: 140 }), { maxLength: 120 }), fc.jsonValue()),
        v: fc.oneof(fc.constant(2), fc.jsonValue()),
        extra: fc.jsonValue(),
      },
      { requiredKeys: ['action'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 }), frame, async (which, body) => {
        const exchange = await [mpc, cli, mpcV2, cliV2][which]!.exchange((s) => s.send(body));
        // A valid sendServer is accepted without an answer (the original demo's behaviour); a valid ack may be
        // settled silently (protocol v2).
        expectAnswered(exchange, body.action !== 'sendServer' && body.action !== 'ack');
      }),
      { numRuns: 300 },
    );
    await expectSentinelRelays();
  });

  it('frames and messages around the 32 KB frame / 128 KB message limits: answered, or closed with 1009', async () => {
    const sizes = fc.oneof(
      fc.integer({ min: MAX_FRAME_BYTES - 64, max: MAX_FRAME_BYTES + 64 }),
      fc.integer({ min: MAX_MESSAGE_BYTES - 256, max: MAX_MESSAGE_BYTES + 256 }),
      fc.integer({ min: 200, max: MAX_MESSAGE_BYTES * 2 }),
    );
    await fc.assert(
      fc.asyncProperty(
        sizes,
        fc.constantFrom('a', 'é', '€', '😀'),
        fc.boolean(),
        fc.integer({ min: 1_024, max: MAX_FRAME_BYTES }),
        async (size, pad, fragmented, frameBytes) => {
          const head =
            '{"action":"sendServer","sourceId":"fuzz-mpc","cliToMpc":{"big-cli":"fuzz-mpc"},"operationType":"blob","message":"';
          const tail = '"}';
          const room = Math.max(0, size - utf8(head) - utf8(tail));
          const body = Buffer.from(`${head}${pad.repeat(Math.floor(room / utf8(pad)))}${tail}`, 'utf8');
          const exchange = await mpc.exchange((s) =>
            fragmented ? sendFragmented(s, body, frameBytes) : s.ws.send(body, { binary: false }),
          );
          const largestFrame = fragmented ? Math.min(frameBytes, body.length) : body.length;
          if (largestFrame > MAX_FRAME_BYTES || body.length > MAX_MESSAGE_BYTES) {
            expect(exchange).toMatchObject({ closed: true, code: 1009 });
          } else {
            // Accepted (stored for the offline cli) or refused as MESSAGE_TOO_LARGE: never closed.
            expectAnswered(exchange, false);
          }
        },
      ),
      { numRuns: 40 },
    );
    await expectSentinelRelays();
  });

  it('deeply nested bodies (up to the 128 KB message limit): answered, connection open', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60_000 }),
        fc.constantFrom('array', 'object', 'in-message'),
        async (depth, shape) => {
          const nest = (d: number) =>
            shape === 'array' ? `${'['.repeat(d)}${']'.repeat(d)}` : `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`;
          const maxDepth = Math.floor((MAX_MESSAGE_BYTES - 200) / (shape === 'array' ? 2 : 6));
          const d = Math.min(depth, maxDepth);
          const text =
            shape === 'in-message'
              ? `{"action":"sendServer","sourceId":"fuzz-mpc","cliToMpc":{"deep-cli":"fuzz-mpc"},"operationType":"deep","message":${nest(d)}}`
              : nest(d);
          const exchange = await mpc.exchange((s) => sendFragmented(s, Buffer.from(text), MAX_FRAME_BYTES));
          // The frame is level 1, so the innermost of d nested objects in `message` is level d + 1: within
          // MAX_JSON_DEPTH a valid send (accepted silently), beyond it an INVALID_FRAME answer.
          expectAnswered(exchange, d + 1 > MAX_JSON_DEPTH || shape !== 'in-message');
        },
      ),
      {
        numRuns: 30,
        examples: [
          [MAX_JSON_DEPTH - 1, 'in-message'],
          [MAX_JSON_DEPTH, 'in-message'],
          [MAX_JSON_DEPTH - 1, 'array'],
          [MAX_JSON_DEPTH, 'array'],
        ],
      },
    );
    await expectSentinelRelays();
  });

  it('binary frames close the connection with 1003', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 4_096 }), async (bytes) => {
        const exchange = await cli.exchange((s) => s.ws.send(bytes, { binary: true }));
        expect(exchange).toMatchObject({ closed: true, code: 1003 });
      }),
      { numRuns: 15 },
    );
    await expectSentinelRelays();
  });

  it('invalid UTF-8 in a text frame closes the connection with 1007 (what ws does)', async () => {
    const invalid = fc.constantFrom(
      [0xff],
      [0xc0, 0x80],
      [0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
    );
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 200 }),
        invalid,
        fc.string({ maxLength: 200 }),
        fc.boolean(),
        async (before, bad, after, fragmented) => {
          const bytes = Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]);
          const exchange = await mpc.exchange((s) =>
            fragmented
              ? sendFragmented(s, bytes, Math.max(1, Math.ceil(bytes.length / 3)))
              : s.ws.send(bytes, { binary: false }),
          );
          expect(exchange).toMatchObject({ closed: true, code: 1007 });
        },
      ),
      { numRuns: 20 },
    );
    await expectSentinelRelays();
  });
});
