/**
 * The session layer (in memory): rounds in order whatever the arrival order, early messages held,
 * duplicates dropped, a failed verification aborts the session for good, timeouts abort and tell
 * the peer, many sessions at once. The relay end to end is in
 * apps/signer/tests/sessions-e2e.test.ts.
 */

import { type ThreeRoundResult, threeRoundProtocol as threeRound, until } from '@mpc-relay/testing';
import { describe, expect, it } from 'vitest';
import { type Delivery, SessionAbortError, SessionManager, type SessionProtocol } from '../src/index.js';
import { loopback } from './helpers/loopback.js';

const threeRoundProtocol = (): SessionProtocol<Record<string, never>, ThreeRoundResult> =>
  threeRound((code, reason) => new SessionAbortError(code, reason));

function setup(options: ConstructorParameters<typeof SessionManager>[1] = {}) {
  const link = loopback();
  const mpc = new SessionManager(link.mpcClient, options);
  const cli = new SessionManager(link.cliClient, options);
  const protocol = threeRoundProtocol();
  cli.register(protocol);
  return { link, mpc, cli, protocol };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('signing sessions', () => {
  it('runs a three-round protocol with DKLs23-sized messages; both sides agree', async () => {
    const { mpc, cli, protocol } = setup();
    const finished: unknown[] = [];
    cli.on('finished', (info) => finished.push(info.result));
    const { result } = mpc.start(protocol, { peerId: 'cli1', params: {} });
    const ours = await result;
    await until(() => finished.length === 1, 'the cli to finish');
    expect(ours.proofs).toHaveLength(3);
    expect(finished).toEqual([{ proofs: ours.proofs }]);
  });

  it('holds a round message that arrives early and drops duplicates', async () => {
    // A protocol whose initiator sends rounds 1 and 2 at once; the tap swaps them and repeats both.
    const twoAtOnce: SessionProtocol<Record<string, never>, string[]> = {
      name: 'two-at-once',
      openings: ['A1'],
      roundOf: (op) => ({ A1: 1, A2: 2, B3: 3 })[op],
      initiate: () => ({
        start: () => ({
          send: [
            { operationType: 'A1', message: { n: 1 } },
            { operationType: 'A2', message: { n: 2 } },
          ],
          expect: 3,
        }),
        receive: (input) => ({ result: [input.operationType] }),
        destroy() {},
      }),
      respond: () => {
        const seen: string[] = ['A1'];
        return {
          start: () => ({ expect: 2 }),
          receive: (input) => {
            seen.push(input.operationType);
            return { send: [{ operationType: 'B3', message: { seen } }], result: seen };
          },
          destroy() {},
        };
      },
    };
    const link = loopback();
    const mpc = new SessionManager(link.mpcClient);
    const cli = new SessionManager(link.cliClient).register(twoAtOnce);
    let first: Delivery | undefined;
    link.setTap(({ delivery }) => {
      if (delivery.operationType === 'A1') {
        first = delivery;
        return [];
      }
      if (delivery.operationType === 'A2') return [delivery, delivery, first as Delivery, first as Delivery];
      return [delivery];
    });
    const dropped: string[] = [];
    cli.on('dropped', (info) => dropped.push(`${info.operationType}: ${info.reason}`));
    const finished: unknown[] = [];
    cli.on('finished', (info) => finished.push(info.result));
    await mpc.start(twoAtOnce, { peerId: 'cli1', params: {} }).result;
    await wait(5);
    // A2 arrived before its session's opening: held, then handed over in order once A1 opened it.
    expect(finished).toEqual([['A1', 'A2']]);
    expect(dropped.some((line) => line.startsWith('A1: duplicate'))).toBe(true);
    expect(dropped.some((line) => line.startsWith('A2: duplicate'))).toBe(true);
  });

  it('aborts the session, never retries, when the peer’s contribution fails verification', async () => {
    const { link, mpc, cli, protocol } = setup();
    const toMpc: string[] = [];
    link.setTap(({ delivery, from }) => {
      if (from.type === 'cli') toMpc.push(delivery.operationType);
      if (delivery.operationType === 'TestRound3') {
        const message = delivery.message as { payload: string };
        // The payload is random base64: replace its first character by a different one, always.
        const first = message.payload[0] === 'A' ? 'B' : 'A';
        return [{ ...delivery, message: { ...message, payload: `${first}${message.payload.slice(1)}` } }];
      }
      return [delivery];
    });
    const aborted: string[] = [];
    cli.on('aborted', (info) => aborted.push(`${info.code} by ${info.by}`));
    // The mpc finished after sending round 3; the cli aborts and tells it.
    await mpc.start(protocol, { peerId: 'cli1', params: {} }).result;
    await until(() => aborted.length > 0, 'the abort');
    expect(aborted).toEqual(['INVALID_CONTRIBUTION by self']);
    expect(toMpc).toEqual(['TestRound2', 'SessionAbort']);
    expect(cli.activeCount).toBe(0);
  });

  it('times out a stalled session and sends the abort frame', async () => {
    const { link, mpc, protocol } = setup({ timeoutMs: 50 });
    link.setTap(({ delivery }) => (delivery.operationType === 'TestRound2' ? [] : [delivery]));
    const toCli: string[] = [];
    link.cli.on('message', (delivery) => toCli.push(delivery.operationType));
    await expect(mpc.start(protocol, { peerId: 'cli1', params: {} }).result).rejects.toMatchObject({
      code: 'TIMEOUT',
      by: 'self',
    });
    await until(() => toCli.length === 2, 'the abort frame');
    expect(toCli).toEqual(['TestRound1', 'SessionAbort']);
  });

  it('runs 10 sessions at once over one pair', async () => {
    const { mpc, cli, protocol } = setup();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => mpc.start(protocol, { peerId: 'cli1', params: {} }).result),
    );
    expect(new Set(results.map((r) => r.proofs[0])).size).toBe(10);
    expect(mpc.activeCount).toBe(0);
    await until(() => cli.activeCount === 0, 'the cli to finish');
  });
});
