/**
 * End to end against the real local relay (apps/relay: local gateway + handler bundles + dynalite):
 * the library and the signer command, over real connections.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Relay, RelayOptions } from '@mpc-relay/relay';
import {
  attachCosigner,
  type Delivery,
  type FullSigFields,
  HandshakeRefusedError,
  type RelayClient,
  type RelayClientOptions,
  SingleKeyCosigner,
  verifyFullSig,
} from '@mpc-relay/signer';
import { signedFetch, until as waitUntil } from '@mpc-relay/testing';
import { describe, expect, it } from 'vitest';
import { Child } from './process.js';
import { relaySuite } from './relay-suite.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TEST_KEY = '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
const cosigner = SingleKeyCosigner.fromHex(TEST_KEY);
const suite = relaySuite('signer-e2e-');

function relayOn(dataDir?: string, port = 0, limits: Partial<RelayOptions> = {}): Promise<Relay> {
  return suite.relay({ ...limits, port, ...(dataDir ? { dataDir } : {}) });
}

function client(url: string, peer: RelayClientOptions['peer'], options: Partial<RelayClientOptions> = {}) {
  return suite.client({ url, peer, ...options });
}

/** Bounds of 20 s: this file waits for relay restarts and reconnects the gateway forces. */
const until = (predicate: () => boolean, what: string, timeoutMs = 20_000) =>
  waitUntil(predicate, what, timeoutMs);

async function withConnectionId(c: RelayClient): Promise<string> {
  const id = new Promise<string>((resolve) => c.once('connectionId', resolve));
  await c.connect();
  return c.connectionId ?? (await id);
}

const partial = (transactionId: string) => ({
  accountHash: 'accountHash',
  teamId: 'teamId',
  transactionId,
  partialSig: `partial-${transactionId}`,
});

/** An mpc that records every FullSig it receives, keyed by transaction id. */
function recordFullSigs(mpc: RelayClient): Map<string, Delivery[]> {
  const received = new Map<string, Delivery[]>();
  mpc.onOperation('FullSig', (delivery) => {
    const id = (delivery.message as FullSigFields).transactionId ?? '?';
    received.set(id, [...(received.get(id) ?? []), delivery]);
  });
  return received;
}

function expectVerified(received: Map<string, Delivery[]>, ids: string[]): void {
  expect([...received.keys()].sort()).toEqual([...ids].sort());
  for (const id of ids) {
    const deliveries = received.get(id) ?? [];
    expect(deliveries).toHaveLength(1); // exactly once
    const result = verifyFullSig(partial(id), deliveries[0]?.message as FullSigFields, cosigner.publicKeyHex);
    expect(result).toEqual({ ok: true, publicKeyHex: cosigner.publicKeyHex });
  }
}

describe('library against the local relay', () => {
  it('protocol v1: connects, gets connection ids, PartialSig in, FullSig out and verified, in the original demo shapes', async () => {
    const relay = await relayOn();
    const signer = client(relay.url, { type: 'cli', id: 'cli123' }, { protocol: 'v1' });
    const mpc = client(relay.url, { type: 'mpc', id: 'IgniterC56D' }, { protocol: 'v1' });
    attachCosigner(signer, cosigner);
    const received = recordFullSigs(mpc);
    const partials: Delivery[] = [];
    signer.onOperation('PartialSig', (delivery) => partials.push(delivery));
    const [cliConnection, mpcConnection] = await Promise.all([
      withConnectionId(signer),
      withConnectionId(mpc),
    ]);
    expect(cliConnection).toMatch(/^[A-Za-z0-9_=-]+$/);
    expect(cliConnection).not.toBe(mpcConnection);

    await mpc.send({ operationType: 'PartialSig', cliId: 'cli123', message: partial('transactionId') });
    await until(() => received.size === 1, 'the FullSig');
    expect(partials[0]?.raw).toBe(
      '{"operationType":"PartialSig","from":"IgniterC56D","message":{"accountHash":"accountHash","teamId":"teamId","transactionId":"transactionId","partialSig":"partial-transactionId"}}',
    );
    const fullSig = received.get('transactionId')?.[0];
    expect(fullSig).toMatchObject({ operationType: 'FullSig', from: 'cli123', to: 'IgniterC56D' });
    expect(Object.keys(JSON.parse(fullSig?.raw ?? '{}'))).toEqual(['operationType', 'from', 'to', 'message']);
    expectVerified(received, ['transactionId']);
  });

  it('reconnects after the relay drops a connection; what each side queued meanwhile arrives once', async () => {
    const relay = await relayOn();
    const signer = client(relay.url, { type: 'cli', id: 'cli-drop' });
    const mpc = client(relay.url, { type: 'mpc', id: 'mpc-drop' });
    attachCosigner(signer, cosigner);
    const received = recordFullSigs(mpc);
    await withConnectionId(signer);
    const firstMpcConnection = await withConnectionId(mpc);
    await mpc.send({ operationType: 'PartialSig', cliId: 'cli-drop', message: partial('before') });
    await until(() => received.size === 1, 'the first FullSig');

    const drop = async (connectionId: string | undefined) => {
      const response = await signedFetch(
        relay,
        `${relay.managementEndpoint}/${encodeURIComponent(connectionId ?? '')}`,
        { method: 'DELETE' },
      );
      expect(response.status).toBe(204);
    };
    /** Calls `queue` once, the moment `c` starts waiting to reconnect. */
    const whileDown = (c: RelayClient, queue: () => Promise<void>[]) =>
      new Promise<Promise<void>[]>((resolve) => {
        const off = c.on('state', (change) => {
          if (change.state !== 'reconnecting') return;
          off();
          resolve(queue());
        });
      });

    // The relay drops the mpc's connection (management API DELETE, as on AWS); while it is gone,
    // the mpc queues three PartialSigs in its outbox.
    const mpcQueued = whileDown(mpc, () =>
      ['during-1', 'during-2', 'during-3'].map((id) =>
        mpc.send({ operationType: 'PartialSig', cliId: 'cli-drop', message: partial(id) }),
      ),
    );
    await drop(firstMpcConnection);
    await Promise.all(await mpcQueued);
    await until(() => received.size === 4, 'the FullSigs of the queued PartialSigs');
    expect(mpc.connectionId).not.toBe(firstMpcConnection);

    // The relay drops the signer's connection; while it is gone, it queues a FullSig (in the
    // conversation the mpc opened for that transaction: a reply goes to the mpc of its key).
    const notes: unknown[] = [];
    signer.onOperation('Note', (delivery) => notes.push(delivery.message));
    await mpc.send({ operationType: 'Note', cliId: 'cli-drop', message: { transactionId: 'cli-queued' } });
    await until(() => notes.length === 1, 'the conversation opened');
    const firstCliConnection = signer.connectionId;
    const { partialSig: _unused, ...ids } = partial('cli-queued');
    const cliQueued = whileDown(signer, () => [
      signer.send({
        operationType: 'FullSig',
        message: { ...ids, ...cosigner.signFields(partial('cli-queued')) },
      }),
    ]);
    await drop(firstCliConnection);
    await Promise.all(await cliQueued);
    await until(() => received.size === 5, 'the FullSig the signer queued');
    expect(signer.connectionId).not.toBe(firstCliConnection);

    await mpc.send({ operationType: 'PartialSig', cliId: 'cli-drop', message: partial('after') });
    await until(() => received.size === 6, 'the last FullSig');
    expectVerified(received, ['before', 'during-1', 'during-2', 'during-3', 'cli-queued', 'after']);
  });

  it('survives a relay restart on the same data folder: stored and queued messages are not lost', async () => {
    const dataDir = suite.path('restart');
    let relay = await relayOn(dataDir);
    const url = relay.url;
    const port = Number(new URL(url).port);
    const mpc = client(url, { type: 'mpc', id: 'mpc-restart' });
    const received = recordFullSigs(mpc);
    await withConnectionId(mpc);

    // The cli is offline: the relay keeps this PartialSig for it in its table.
    await mpc.send({ operationType: 'PartialSig', cliId: 'cli-restart', message: partial('stored') });
    await until(() => mpc.pendingCount === 0, 'the PartialSig written');
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the relay store it

    // The relay goes down; the mpc queues another PartialSig while it is down.
    await relay.close();
    await until(() => mpc.state === 'reconnecting' || mpc.state === 'connecting', 'the mpc to notice');
    const queued = mpc.send({
      operationType: 'PartialSig',
      cliId: 'cli-restart',
      message: partial('queued'),
    });

    relay = await relayOn(dataDir, port);
    await queued;
    await until(() => mpc.state === 'open', 'the mpc to reconnect');

    // The signer comes online and gets both: the stored one (from the table, across the restart)
    // and the one queued in the mpc's outbox.
    const signer = client(url, { type: 'cli', id: 'cli-restart' });
    attachCosigner(signer, cosigner);
    await withConnectionId(signer);
    await until(() => received.size === 2, 'both FullSigs');
    expectVerified(received, ['stored', 'queued']);
  });

  it('refuses the handshake with a typed error and no retry: Authorization Deny (403), none (401)', async () => {
    const relay = await relayOn();
    const denied = client(relay.url, { type: 'cli', id: 'cli-deny' }, { token: 'Deny' });
    const denial = await denied.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(denial).toBeInstanceOf(HandshakeRefusedError);
    expect((denial as HandshakeRefusedError).statusCode).toBe(403);
    expect(denied.state).toBe('closed');

    const anonymous = client(relay.url, { type: 'cli', id: 'cli-anon' }, { tokenIn: 'query' });
    const missing = await anonymous.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(missing).toBeInstanceOf(HandshakeRefusedError);
    expect((missing as HandshakeRefusedError).statusCode).toBe(401);
  });

  it('reports relay error frames without closing: a cli answering with no mpc mapping (v2: the send rejects)', async () => {
    const relay = await relayOn();
    const lonely = client(relay.url, { type: 'cli', id: 'cli-lonely' });
    const errors: string[] = [];
    lonely.on('relayError', (report) => errors.push(report.code ?? report.message));
    await withConnectionId(lonely);
    await expect(lonely.send({ operationType: 'custom', message: { hello: 1 } })).rejects.toMatchObject({
      name: 'SendRefusedError',
      relayCode: 'NO_MAPPING',
    });
    expect(errors).toEqual(['NO_MAPPING']);
    expect(lonely.state).toBe('open');
  });
});

describe('keepalive and connection lifetime against the local gateway', () => {
  it('keeps an idle connection open past the idle timeout with application pings; without them it is closed', async () => {
    const relay = await relayOn(undefined, 0, { idleTimeoutMs: 1500 });
    const kept = client(
      relay.url,
      { type: 'cli', id: 'cli-kept' },
      { keepalive: { pingIntervalMs: 0, appPingIntervalMs: 250 } },
    );
    const idle = client(
      relay.url,
      { type: 'cli', id: 'cli-idle' },
      { keepalive: { pingIntervalMs: 0, appPingIntervalMs: 0 } },
    );
    const keptStates: string[] = [];
    const idleStates: string[] = [];
    let pongs = 0;
    kept.on('state', (change) => keptStates.push(change.state));
    kept.on('pong', () => pongs++);
    idle.on('state', (change) => idleStates.push(change.state));
    const keptId = await withConnectionId(kept);
    await withConnectionId(idle);
    // The gateway closes the silent connection (proof that the idle timeout is armed)...
    await until(() => idleStates.includes('reconnecting'), 'the gateway to close the idle connection');
    await until(
      () => idleStates.filter((state) => state === 'reconnecting').length >= 2,
      'a second idle close',
    );
    // ...while the one sending {"action":"ping"} stayed on its first connection all along.
    expect(keptStates).toEqual(['connecting', 'open']);
    expect(kept.connectionId).toBe(keptId);
    expect(pongs).toBeGreaterThan(0);
  });

  it('reconnects proactively before the connection lifetime; a client that does not is cut by the gateway', async () => {
    const relay = await relayOn(undefined, 0, { maxLifetimeMs: 2000 });
    const proactive = client(relay.url, { type: 'cli', id: 'cli-proactive' }, { maxConnectionAgeMs: 800 });
    const late = client(relay.url, { type: 'cli', id: 'cli-late' });
    const reasons = { proactive: [] as string[], late: [] as string[] };
    proactive.on(
      'state',
      (change) => change.state === 'reconnecting' && reasons.proactive.push(change.reason ?? ''),
    );
    late.on('state', (change) => change.state === 'reconnecting' && reasons.late.push(change.reason ?? ''));
    await Promise.all([withConnectionId(proactive), withConnectionId(late)]);
    await until(() => reasons.late.length >= 1 && reasons.proactive.length >= 1, 'both to reconnect');
    expect(reasons.proactive[0]).toMatch(/proactive reconnect/);
    expect(reasons.late[0]).toMatch(/^closed with \d+/);
    await until(() => late.state === 'open' && proactive.state === 'open', 'both back');
  });
});

describe('mpc-relay-signer against the local relay', () => {
  it('answers a PartialSig with a verifiable FullSig, prints the original demo line, exits 0 on SIGINT', async () => {
    const relay = await relayOn();
    const keyFile = suite.path('signer.key');
    await writeFile(keyFile, TEST_KEY, { mode: 0o600 });
    const child = new Child(MAIN, [
      '--url',
      relay.url,
      '--cli-id',
      'cli123',
      '--key-file',
      keyFile,
      '--allow-any-mpc',
    ]);
    suite.defer(() => child.kill());
    expect(await child.line(/Signer public key/)).toContain(cosigner.publicKeyHex);
    await child.line(/🆔 Connection id: /);

    const mpc = client(relay.url, { type: 'mpc', id: 'IgniterC56D' });
    const received = recordFullSigs(mpc);
    await withConnectionId(mpc);
    await mpc.send({ operationType: 'PartialSig', cliId: 'cli123', message: partial('transactionId') });
    expect(await child.line(/📨/)).toBe(
      '📨 Message from IgniterC56D: {"accountHash":"accountHash","teamId":"teamId","transactionId":"transactionId","partialSig":"partial-transactionId"}',
    );
    await until(() => received.size === 1, 'the FullSig');
    expectVerified(received, ['transactionId']);

    child.process.kill('SIGINT');
    expect(await child.exit()).toBe(0);
  });

  it('gives one line and exit 1 when the relay denies it (Authorization: Deny)', async () => {
    const relay = await relayOn();
    const child = new Child(MAIN, [
      '--url',
      relay.url,
      '--cli-id',
      'cli123',
      '--token',
      'Deny',
      '--ephemeral-key',
      '--allow-any-mpc',
    ]);
    suite.defer(() => child.kill());
    expect(await child.exit()).toBe(1);
    expect(child.stderr.filter((line) => line.startsWith('mpc-relay-signer:'))).toEqual([
      expect.stringMatching(
        /^mpc-relay-signer: relay refused the connection with HTTP 403.*\(the token was denied\)$/,
      ),
    ]);
  });
});
