/** Fragments: split to fit 32 KB frames, reassembled in order, bounded, tampering refused. */
import { MAX_FRAME_BYTES, utf8Length } from '@mpc-relay/protocol';
import { describe, expect, it } from 'vitest';
import { type Delivery, type FragmentRefusal, Reassembler, splitIntoFragments } from '../src/index.js';
import { buildSendServerFrame } from '../src/send-frame.js';

const mpc = { type: 'mpc', id: 'IgniterC56D' } as const;
const big = (bytes: number) => ({ teamId: 'team-a', blob: 'x'.repeat(bytes) });

function deliveries(message: unknown, options = {}): Delivery[] {
  const parts = splitIntoFragments(
    mpc,
    { operationType: 'TestRound1', message, cliId: 'cli1', sessionId: 's1' },
    options,
  );
  return parts.map((part) => ({
    operationType: part.operationType,
    from: mpc.id,
    message: JSON.parse(JSON.stringify(part.message)),
    sessionId: part.sessionId as string,
    raw: '',
  }));
}

function reassembler(options = {}) {
  const refusals: FragmentRefusal[] = [];
  return { refusals, reassembler: new Reassembler(options, (refusal) => refusals.push(refusal)) };
}

describe('fragments', () => {
  it('splits a 365 KB message into frames that each fit 32 KB with any clientMsgId, teamId and sessionId readable', () => {
    const parts = splitIntoFragments(mpc, {
      operationType: 'TestRound1',
      message: big(365_000),
      cliId: 'cli1',
      sessionId: 's1',
    });
    expect(parts.length).toBeGreaterThanOrEqual(12);
    for (const part of parts) {
      const frame = buildSendServerFrame(mpc, part, 'c'.repeat(128));
      expect(utf8Length(frame)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
      expect(JSON.parse(frame)).toMatchObject({
        operationType: 'Fragment',
        sessionId: 's1',
        message: { teamId: 'team-a' },
      });
    }
  });

  it('reassembles in index order whatever the arrival order, once', () => {
    const { reassembler: r, refusals } = reassembler();
    const parts = deliveries(big(200_000)).reverse();
    const wholes = parts.map((part) => r.add(part)).filter(Boolean);
    expect(wholes).toHaveLength(1);
    expect(wholes[0]).toMatchObject({ operationType: 'TestRound1', sessionId: 's1', message: big(200_000) });
    expect(refusals).toEqual([]);
    expect(r.bufferedBytes).toBe(0);
  });

  it('compresses with brotli when asked', () => {
    const plain = deliveries(big(300_000));
    const packed = deliveries(big(300_000), { compress: true });
    expect(packed.length).toBeLessThan(plain.length);
    const { reassembler: r } = reassembler();
    const wholes = packed.map((part) => r.add(part)).filter(Boolean);
    expect(wholes[0]?.message).toEqual(big(300_000));
  });

  it('refuses a tampered fragment (digest) and an inconsistent set; nothing is delivered', () => {
    const { reassembler: r, refusals } = reassembler();
    const parts = deliveries(big(100_000));
    const tampered = parts[1] as Delivery & { message: { data: string } };
    const data = Buffer.from(tampered.message.data, 'base64');
    data[10] = (data[10] as number) ^ 1;
    tampered.message.data = data.toString('base64');
    expect(parts.map((part) => r.add(part)).filter(Boolean)).toEqual([]);
    expect(refusals.map((x) => x.code)).toEqual(['FRAGMENT_DIGEST']);

    const again = deliveries(big(100_000));
    (again[2] as Delivery & { message: { fragment: { count: number } } }).message.fragment.count += 1;
    expect(again.map((part) => r.add(part)).filter(Boolean)).toEqual([]);
    expect(refusals.map((x) => x.code)).toEqual(['FRAGMENT_DIGEST', 'FRAGMENT_INCONSISTENT']);
  });

  it('bounds memory: a set over the limit, or more than the limit buffered at once, is refused', () => {
    const { reassembler: r, refusals } = reassembler({ maxMessageBytes: 150_000 });
    const first = deliveries(big(100_000));
    const second = deliveries(big(100_000));
    r.add(first[0] as Delivery);
    r.add(second[0] as Delivery);
    expect(refusals.map((x) => x.code)).toEqual(['FRAGMENT_TOO_LARGE']);
    expect(() =>
      splitIntoFragments(mpc, { operationType: 'X', message: big(2_000_000), cliId: 'c' }),
    ).toThrow(/limit/);
  });

  it('expires an incomplete set', async () => {
    const { reassembler: r, refusals } = reassembler({ timeoutMs: 20 });
    r.add(deliveries(big(100_000))[0] as Delivery);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(refusals.map((x) => x.code)).toEqual(['FRAGMENT_EXPIRED']);
    expect(r.bufferedBytes).toBe(0);
  });
});
