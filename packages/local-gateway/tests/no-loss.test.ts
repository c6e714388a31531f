/**
 * Nothing is lost under concurrency: every frame a sender writes is delivered, or answered with an
 * error frame to its sender. The real handler bundles behind the gateway, real WebSocket
 * connections, many senders at once: with one execution environment (invocations wait for it) and
 * with a reserved concurrency of 1 (invocations over it are throttled, as Lambda does). Shown by
 * counting every frame and its order, never by waiting a fixed time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayEvents, LocalGatewayOptions } from '../src/index.js';
import { ALLOW, TestClient, waitFor } from './helpers.js';
import { startRealRelay } from './real-relay.js';

const PAIRS = 8;
const PER_SENDER = 12;

let relay: Awaited<ReturnType<typeof startRealRelay>> | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await relay?.close();
  relay = undefined;
});

async function open(url: string): Promise<TestClient> {
  const client = await TestClient.open(url, { headers: ALLOW });
  clients.push(client);
  return client;
}

const partialSig = (mpcId: string, cliId: string, seq: number) => ({
  action: 'sendServer',
  sourceId: mpcId,
  cliToMpc: { [cliId]: mpcId },
  operationType: 'PartialSig',
  message: { accountHash: 'a', teamId: 't', transactionId: `tx-${seq}`, partialSig: 'p' },
});

/**
 * PAIRS mpcs each write PER_SENDER PartialSigs at once to their own cli; resolves once every frame
 * is accounted for (bounded): what each cli received, what each mpc got back, the route outcomes.
 */
async function burst(environments: LocalGatewayOptions['environments']) {
  relay = await startRealRelay({ environments });
  const { gateway } = relay;
  const routes: GatewayEvents['route'][0][] = [];
  gateway.on('route', (r) => {
    if (r.routeKey === 'sendServer') routes.push(r);
  });
  const pairs: { cli: TestClient; mpc: TestClient; cliId: string; mpcId: string }[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const cli = await open(`${gateway.url}?type=cli&cliId=burst-cli-${i}`);
    const mpc = await open(`${gateway.url}?type=mpc&mpcId=burst-mpc-${i}`);
    pairs.push({ cli, mpc, cliId: `burst-cli-${i}`, mpcId: `burst-mpc-${i}` });
  }
  for (let seq = 0; seq < PER_SENDER; seq++)
    for (const p of pairs) p.mpc.send(partialSig(p.mpcId, p.cliId, seq));
  const sent = PAIRS * PER_SENDER;
  // A v1 sender hears nothing on success: any frame it gets is an error frame.
  const accounted = () => pairs.reduce((n, p) => n + p.cli.messages.length + p.mpc.messages.length, 0);
  await waitFor(() => accounted() >= sent, `all ${sent} frames delivered or refused`, 120_000);
  await waitFor(() => routes.length >= sent, `a route event for each of the ${sent} frames`, 30_000);
  return {
    sent,
    delivered: pairs.map((p) => p.cli.messages.map((text) => JSON.parse(text).message.transactionId)),
    refusals: pairs.flatMap((p) => p.mpc.messages.map((text) => JSON.parse(text))),
    outcomes: routes.map((r) => r.outcome),
  };
}

describe('every frame is delivered or refused with an error frame to its sender', {
  timeout: 180_000,
}, () => {
  it('one environment for sendServer: invocations wait for it, every frame is delivered, in order', async () => {
    const { sent, delivered, refusals, outcomes } = await burst({ maxEnvironments: 1 });
    expect(refusals).toEqual([]);
    const inOrder = Array.from({ length: PER_SENDER }, (_, seq) => `tx-${seq}`);
    expect(delivered).toEqual(Array.from({ length: PAIRS }, () => inOrder));
    expect(outcomes).toEqual(Array.from({ length: sent }, () => 'ok'));
  });

  it('reserved concurrency 1: each frame over it gets the gateway error frame, the rest arrive in order', async () => {
    const { sent, delivered, refusals, outcomes } = await burst({
      reservedConcurrency: { sendServer: 1 },
    });
    const deliveredCount = delivered.flat().length;
    // Every frame accounted for once: delivered (no duplicate) or refused, never both, never neither.
    expect(deliveredCount + refusals.length).toBe(sent);
    for (const seqs of delivered) {
      expect(new Set(seqs).size).toBe(seqs.length);
      // A cli gets its mpc's frames in the order they were written (a refused one leaves a gap).
      const numbers = seqs.map((id: string) => Number(id.slice(3)));
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    }
    // Refused: exactly the invocations Lambda throttled, each with API Gateway's error frame.
    expect(outcomes.filter((o) => o === 'throttled')).toHaveLength(refusals.length);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(deliveredCount);
    for (const frame of refusals)
      expect(frame).toEqual({
        message: 'Internal server error',
        connectionId: expect.any(String),
        requestId: expect.any(String),
      });
    // The first invocation always gets the one slot; the frames written meanwhile are throttled.
    expect(deliveredCount).toBeGreaterThan(0);
    expect(refusals.length).toBeGreaterThan(0);
  });
});
