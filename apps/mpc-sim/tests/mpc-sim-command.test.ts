import { fileURLToPath } from 'node:url';
import { SingleKeyCosigner } from '@mpc-relay/signer';
import { type FakeConnection, FakeRelay } from '@mpc-relay/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Child } from '../../signer/tests/process.js';
import { percentile, summarizeLatency } from '../src/simulate.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TEST_KEY = '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
const TEST_PUBLIC_KEY = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';
const cosigner = SingleKeyCosigner.fromHex(TEST_KEY);

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Answer = (partial: Record<string, string>) => { operationType: string; message: unknown } | undefined;

/**
 * A fake relay that also plays the co-signer: answers each PartialSig from the mpc directly. A v1
 * relay by default; with `v2` it echoes the subprotocol, acks each send and delivers v2 envelopes.
 */
async function relayAnswering(answer: Answer, { v2 = false } = {}): Promise<FakeRelay> {
  let delivered = 0;
  const relay = await new FakeRelay({
    v2,
    onFrame: (connection: FakeConnection, text: string) => {
      const frame = JSON.parse(text) as {
        action: string;
        operationType?: string;
        message?: Record<string, string>;
        clientMsgId?: string;
      };
      if (frame.action !== 'sendServer' || frame.operationType !== 'PartialSig' || !frame.message) return;
      if (frame.clientMsgId !== undefined) {
        const ack = {
          clientMsgId: frame.clientMsgId,
          messageId: `in-${frame.clientMsgId}`,
          status: 'delivered',
        };
        connection.socket.send(JSON.stringify({ ack }));
      }
      const reply = answer(frame.message);
      if (!reply) return;
      const ids = connection.protocol ? { messageId: `out-${++delivered}`, sentAt: Date.now() } : {};
      connection.socket.send(
        JSON.stringify({
          operationType: reply.operationType,
          from: 'cli123',
          to: 'IgniterC56D',
          message: reply.message,
          ...ids,
        }),
      );
    },
  }).start();
  cleanups.push(() => relay.stop());
  return relay;
}

const sign: Answer = (partial) => {
  const { partialSig, ...ids } = partial as {
    partialSig: string;
    accountHash: string;
    teamId: string;
    transactionId: string;
  };
  return { operationType: 'FullSig', message: { ...ids, ...cosigner.signFields({ ...ids, partialSig }) } };
};

function start(args: string[]): Child {
  const child = new Child(MAIN, args);
  cleanups.push(() => child.kill());
  return child;
}

const base = (relay: FakeRelay) => ['--url', relay.url, '--mpc-id', 'IgniterC56D', '--cli-id', 'cli123'];

describe('latency summary', () => {
  it('uses nearest-rank percentiles', () => {
    const values = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(10);
    expect(percentile(values, 95)).toBe(19);
    expect(summarizeLatency([3, 1, 2])).toEqual({ min: 1, median: 2, p95: 3, max: 3 });
    expect(summarizeLatency([])).toBeUndefined();
  });
});

describe('mpc-relay-mpc-sim', () => {
  it('--protocol v1: sends the v1 PartialSig, verifies each FullSig against the signer key, prints a latency summary, exits 0', async () => {
    const relay = await relayAnswering(sign, { v2: true });
    const child = start([
      ...base(relay),
      '--protocol',
      'v1',
      '--count',
      '5',
      '--rate',
      '100',
      '--signer-pubkey',
      TEST_PUBLIC_KEY,
    ]);
    expect(await child.exit()).toBe(0);
    const frames = relay.sendServerFrames();
    expect(frames).toHaveLength(5);
    expect(frames[0]).toMatchObject({
      action: 'sendServer',
      sourceId: 'IgniterC56D',
      cliToMpc: { cli123: 'IgniterC56D' },
      operationType: 'PartialSig',
      message: { accountHash: 'accountHash', teamId: 'teamId' },
    });
    expect(Object.keys(frames[0] as object)).toEqual([
      'action',
      'sourceId',
      'cliToMpc',
      'operationType',
      'message',
    ]);
    expect(child.stdout).toContain('✅ Connected');
    expect(child.stdout.filter((line) => line.startsWith('✅ FullSig'))).toHaveLength(5);
    expect(child.stdout.at(-1)).toMatch(
      /^🎉 Summary: 5\/5 verified, 0 refused, 0 invalid, 0 unanswered; latency min [\d.]+ ms, median [\d.]+ ms, p95 [\d.]+ ms, max [\d.]+ ms$/,
    );
  });

  it('speaks protocol v2 by default (clientMsgId on each PartialSig, FullSig envelopes acked); falls back to v1', async () => {
    const relay = await relayAnswering(sign, { v2: true });
    const child = start([
      ...base(relay),
      '--count',
      '3',
      '--rate',
      '100',
      '--signer-pubkey',
      TEST_PUBLIC_KEY,
    ]);
    expect(await child.exit()).toBe(0);
    expect(child.stdout).toContain('✅ Connected (protocol v2)');
    expect(relay.sendServerFrames().map((frame) => typeof frame.clientMsgId)).toEqual([
      'string',
      'string',
      'string',
    ]);
    const acked = relay.last.frames.filter((text) => text.startsWith('{"action":"ack"')).join();
    for (const id of ['out-1', 'out-2', 'out-3']) expect(acked).toContain(id);

    const v1Relay = await relayAnswering(sign);
    const fallback = start([...base(v1Relay), '--signer-pubkey', TEST_PUBLIC_KEY]);
    expect(await fallback.exit()).toBe(0);
    expect(fallback.stdout).toContain('↩️  The relay does not speak protocol v2: using protocol v1');
    expect(fallback.stdout).toContain('✅ Connected');
    expect(Object.keys(v1Relay.sendServerFrames()[0] ?? {})).not.toContain('clientMsgId');
  });

  it('exits 1 when a signature does not verify: wrong key, or a tampered FullSig', async () => {
    const other = SingleKeyCosigner.generate().publicKeyHex;
    const relay = await relayAnswering(sign);
    const wrongKey = start([...base(relay), '--signer-pubkey', other]);
    expect(await wrongKey.exit()).toBe(1);
    expect(wrongKey.stdout.join('\n')).toMatch(/❌ FullSig for .* does NOT verify: signature is not by/);
    expect(wrongKey.stdout.at(-1)).toMatch(/💥 Summary: 0\/1 verified, 0 refused, 1 invalid/);

    const tampering = await relayAnswering((partial) => {
      const answer = sign(partial) as { operationType: string; message: Record<string, string> };
      return { ...answer, message: { ...answer.message, teamId: 'someone-else' } };
    });
    const tampered = start([...base(tampering), '--signer-pubkey', TEST_PUBLIC_KEY]);
    expect(await tampered.exit()).toBe(1);
    expect(tampered.stdout.join('\n')).toMatch(/FullSig teamId "someone-else" does not match the PartialSig/);
  });

  it('reports a SignRefused and an unanswered request, exit 1', async () => {
    let n = 0;
    const relay = await relayAnswering((partial) =>
      ++n === 1
        ? {
            operationType: 'SignRefused',
            message: { transactionId: partial.transactionId, code: 'POLICY', reason: 'no' },
          }
        : undefined,
    );
    const child = start([...base(relay), '--count', '2', '--rate', '50', '--timeout', '300']);
    expect(await child.exit()).toBe(1);
    const text = child.stdout.join('\n');
    expect(text).toMatch(/⛔ SignRefused for .*-1: POLICY no/);
    expect(text).toMatch(/⏱️ {2}No answer for .*-2/);
    expect(child.stdout.at(-1)).toMatch(/Summary: 0\/2 verified, 1 refused, 0 invalid, 1 unanswered$/);
  });

  it('without --signer-pubkey pins the key recovered from the first FullSig and says so; --json', async () => {
    const relay = await relayAnswering(sign);
    const child = start([...base(relay), '--count', '3', '--rate', '100', '--json']);
    expect(await child.exit()).toBe(0);
    const events = child.events();
    const summary = events.find((e) => e.event === 'summary');
    expect(summary).toMatchObject({
      ok: true,
      verified: 3,
      publicKeyHex: TEST_PUBLIC_KEY,
      publicKeySource: 'pinned',
    });
    expect(events.filter((e) => e.event === 'outcome').every((e) => e.status === 'verified')).toBe(true);
    expect(events.some((e) => e.event === 'warning')).toBe(true);
  });

  it('exits 1 with one line when the relay refuses the handshake; 2 for bad usage', async () => {
    const relay = await new FakeRelay({ refuseWith: () => 403 }).start();
    cleanups.push(() => relay.stop());
    const refused = start([...base(relay), '--signer-pubkey', TEST_PUBLIC_KEY]);
    expect(await refused.exit()).toBe(1);
    expect(refused.stderr).toEqual([
      'mpc-relay-mpc-sim: relay refused the connection with HTTP 403: Forbidden',
    ]);
    const usage = start(['--url', 'ws://x', '--mpc-id', 'm']);
    expect(await usage.exit()).toBe(2);
    expect(usage.stderr).toEqual(['mpc-relay-mpc-sim: missing --cli-id (or MPC_RELAY_CLI_ID)']);
    const badKey = start(['--url', 'ws://x', '--mpc-id', 'm', '--cli-id', 'c', '--signer-pubkey', 'zz']);
    expect(await badKey.exit()).toBe(2);
    expect(badKey.stderr[0]).toMatch(/public key must be SEC1 hex/);
  });
});
