import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyFullSig } from '@mpc-relay/signer';
import { FakeRelay } from '@mpc-relay/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Child } from './process.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TEST_KEY = '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
const TEST_PUBLIC_KEY = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';
const V1_PARTIAL = {
  accountHash: 'accountHash',
  teamId: 'teamId',
  transactionId: 'transactionId',
  partialSig: 'partialSig',
};

let dir: string;
let keyFile: string;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'signer-cmd-'));
  keyFile = join(dir, 'signer.key');
  await writeFile(keyFile, `${TEST_KEY}\n`, { mode: 0o600 });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function start(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = new Child(MAIN, args, env);
  cleanups.push(() => child.kill());
  return child;
}

async function fakeRelay(options?: ConstructorParameters<typeof FakeRelay>[0]): Promise<FakeRelay> {
  const relay = await new FakeRelay(options).start();
  cleanups.push(() => relay.stop());
  return relay;
}

/** The usual arguments: this relay, cli123, the test key; then `extra`. */
const signerArgs = (url: string, ...extra: string[]) => [
  '--url',
  url,
  '--cli-id',
  'cli123',
  '--key-file',
  keyFile,
  '--allow-mpc',
  'IgniterC56D,m1',
  ...extra,
];

describe('mpc-relay-signer', () => {
  it('--protocol v1: prints each message like the original demo client, answers the PartialSig with a verifiable FullSig, exits 0 on SIGINT', async () => {
    const relay = await fakeRelay({ v2: true });
    const child = start(signerArgs(relay.url, '--protocol', 'v1'));
    expect(await child.line(/Signer public key/)).toContain(TEST_PUBLIC_KEY);
    expect(await child.line(/✅ Connected/)).toBe('✅ Connected');
    expect(relay.last.protocol).toBe('');
    await child.line(/🆔 Connection id: conn-1/);
    expect(relay.last.request.headers.authorization).toBe('Allow');
    relay.last.socket.send(
      JSON.stringify({ operationType: 'PartialSig', from: 'IgniterC56D', message: V1_PARTIAL }),
    );
    expect(await child.line(/📨/)).toBe(
      '📨 Message from IgniterC56D: {"accountHash":"accountHash","teamId":"teamId","transactionId":"transactionId","partialSig":"partialSig"}',
    );
    await child.line(/📤 FullSig sent to IgniterC56D for transaction transactionId/);
    await relay.waitFor(() => relay.sendServerFrames().length === 1, 'the FullSig');
    const frame = relay.sendServerFrames()[0] as { sourceId: string; operationType: string; message: never };
    expect(Object.keys(frame)).toEqual(['action', 'sourceId', 'operationType', 'message']);
    expect(frame.sourceId).toBe('cli123');
    expect(frame.operationType).toBe('FullSig');
    expect(verifyFullSig(V1_PARTIAL, frame.message, TEST_PUBLIC_KEY).ok).toBe(true);
    child.process.kill('SIGINT');
    expect(await child.exit()).toBe(0);
    expect(child.stdout.join('\n')).toMatch(/SIGINT: shutting down/);
    expect(child.stdout.join('\n') + child.stderr.join('\n')).not.toContain(TEST_KEY);
  });

  it('refuses to start without an mpc allow-list (one line, exit 2); --allow-any-mpc says so', async () => {
    const child = start([
      '--url',
      'ws://127.0.0.1:9/production',
      '--cli-id',
      'cli123',
      '--key-file',
      keyFile,
    ]);
    expect(await child.exit()).toBe(2);
    expect(child.stderr.filter((line) => line.startsWith('mpc-relay-signer:'))).toEqual([
      expect.stringMatching(/^mpc-relay-signer: no mpc allow-list: give --allow-mpc .*--allow-any-mpc/),
    ]);
    const relay = await fakeRelay({ v2: true });
    const any = start(['--url', relay.url, '--cli-id', 'cli123', '--key-file', keyFile, '--allow-any-mpc']);
    expect(await any.line(/--allow-any-mpc/, 15_000, 'stderr')).toBe(
      '⚠️  --allow-any-mpc: signing for ANY mpc that reaches this co-signer',
    );
  });

  it('--allow-mpc: a PartialSig from another mpc gets SignRefused NOT_ALLOWED (logged), an allowed one a FullSig', async () => {
    const relay = await fakeRelay({ v2: true });
    const child = start(
      signerArgs(relay.url, '--protocol', 'v1', '--allow-mpc', 'IgniterC56D, other'), // the last one wins
    );
    expect(await child.line(/🛡️/)).toBe('🛡️  Signing only for: IgniterC56D, other (the allow-list)');
    await child.line(/🆔 Connection id/);
    relay.last.socket.send(
      JSON.stringify({ operationType: 'PartialSig', from: 'mpcEvil', message: V1_PARTIAL }),
    );
    relay.last.socket.send(
      JSON.stringify({ operationType: 'PartialSig', from: 'IgniterC56D', message: V1_PARTIAL }),
    );
    await relay.waitFor(() => relay.sendServerFrames().length === 2, 'both answers');
    const [first, second] = relay.sendServerFrames() as {
      operationType: string;
      message: Record<string, string>;
    }[];
    expect(first?.operationType).toBe('SignRefused');
    expect(first?.message).toMatchObject({ transactionId: 'transactionId', code: 'NOT_ALLOWED' });
    expect(second?.operationType).toBe('FullSig');
    expect(verifyFullSig(V1_PARTIAL, second?.message as never, TEST_PUBLIC_KEY).ok).toBe(true);
    expect(await child.line(/⛔ SignRefused sent to mpcEvil/, 15_000, 'stderr')).toMatch(/NOT_ALLOWED/);
  });

  it('speaks protocol v2 by default: the same v1 line for a v2 envelope, acks it, FullSig with a clientMsgId', async () => {
    const relay = await fakeRelay({ v2: true });
    const child = start(signerArgs(relay.url));
    expect(await child.line(/✅ Connected/)).toBe('✅ Connected (protocol v2)');
    await child.line(/🆔 Connection id: conn-1/);
    expect(relay.last.protocol).toBe('mpc-relay.v2');
    relay.last.socket.send(
      JSON.stringify({
        operationType: 'PartialSig',
        from: 'IgniterC56D',
        message: V1_PARTIAL,
        messageId: 'relay-id-1',
        clientMsgId: 'their-1',
        sentAt: 1,
      }),
    );
    expect(await child.line(/📨/)).toBe(
      '📨 Message from IgniterC56D: {"accountHash":"accountHash","teamId":"teamId","transactionId":"transactionId","partialSig":"partialSig"}',
    );
    await relay.waitFor(() => relay.last.frames.some((text) => text.includes('"ack"')), 'the ack');
    expect(relay.last.frames).toContain('{"action":"ack","messageIds":["relay-id-1"]}');
    await relay.waitFor(() => relay.sendServerFrames().length === 1, 'the FullSig');
    expect(relay.sendServerFrames()[0]).toMatchObject({
      operationType: 'FullSig',
      clientMsgId: expect.any(String),
    });
    child.process.kill('SIGINT');
    expect(await child.exit()).toBe(0);
  });

  it('falls back to protocol v1 on a relay that does not speak v2, and says so', async () => {
    const relay = await fakeRelay();
    const child = start(signerArgs(relay.url));
    expect(await child.line(/✅ Connected/)).toBe('✅ Connected');
    expect(child.stdout).toContain('↩️  The relay does not speak protocol v2: using protocol v1');
    await child.line(/🆔 Connection id: conn-2/);
    relay.last.socket.send(
      JSON.stringify({ operationType: 'PartialSig', from: 'IgniterC56D', message: V1_PARTIAL }),
    );
    await relay.waitFor(() => relay.sendServerFrames().length === 1, 'the FullSig');
    expect(Object.keys(relay.sendServerFrames()[0] ?? {})).toEqual([
      'action',
      'sourceId',
      'operationType',
      'message',
    ]);
    child.process.kill('SIGINT');
    expect(await child.exit()).toBe(0);
  });

  it("--protocol seed, v1's former name, still works as v1 and says it is deprecated", async () => {
    const relay = await fakeRelay({ v2: true });
    const child = start(signerArgs(relay.url, '--protocol', 'seed'));
    await child.line(/🆔 Connection id:/);
    expect(child.stderr).toContain("--protocol seed is deprecated: it is called 'v1' now");
    // v1 from the start, on a relay that would have accepted v2: the subprotocol was never offered.
    expect(relay.connections).toHaveLength(1);
    expect(relay.last.request.headers['sec-websocket-protocol']).toBeUndefined();
    child.process.kill('SIGINT');
    expect(await child.exit()).toBe(0);
  });

  it('refuses an unknown --protocol with the choices', async () => {
    const child = start(signerArgs('ws://127.0.0.1:9/production', '--protocol', 'v3'));
    expect(await child.exit()).toBe(2);
    expect(child.stderr.join('\n')).toContain('unknown protocol "v3"; expected v2 or v1');
  });

  it('--json prints one JSON line per event, reads its settings from the environment, exits 0 on SIGTERM', async () => {
    const relay = await fakeRelay();
    const child = start(['--json'], {
      MPC_RELAY_URL: relay.url,
      MPC_RELAY_CLI_ID: 'cli-env',
      MPC_RELAY_TOKEN: 'secret-token',
      MPC_RELAY_TOKEN_IN: 'query',
      MPC_RELAY_SIGNER_KEY: TEST_KEY,
      MPC_RELAY_PROTOCOL: 'v1',
      MPC_RELAY_ALLOW_MPC: 'm1',
    });
    await child.line(/"event":"connectionId"/);
    expect(relay.last.url.searchParams.get('cliId')).toBe('cli-env');
    expect(relay.last.url.searchParams.get('token')).toBe('secret-token');
    relay.last.socket.send(JSON.stringify({ operationType: 'PartialSig', from: 'm1', message: V1_PARTIAL }));
    await child.line(/"event":"signed"/);
    relay.last.socket.send('garbage');
    await child.line(/"event":"badFrame"/);
    child.process.kill('SIGTERM');
    expect(await child.exit()).toBe(0);
    const events = child.events();
    expect(events.map((e) => e.event)).toEqual([
      'start',
      'allowList',
      'state',
      'state',
      'connectionId',
      'message',
      'signed',
      'badFrame',
      'stop',
      'state',
      'exit',
    ]);
    expect(events[0]).toMatchObject({
      publicKey: TEST_PUBLIC_KEY,
      keySource: 'env MPC_RELAY_SIGNER_KEY',
      cliId: 'cli-env',
      protocol: 'v1',
    });
    expect(events[1]).toMatchObject({ any: false, mpcIds: ['m1'] });
    expect(events[3]).toMatchObject({ state: 'open', protocol: 'v1' });
    expect(events[0]?.url).toContain('token=***');
    expect(events[5]).toMatchObject({ operationType: 'PartialSig', from: 'm1', message: V1_PARTIAL });
    expect(child.stdout.join('\n')).not.toContain('secret-token');
  });

  for (const status of [401, 403]) {
    it(`gives one clear line and exit 1 when the relay refuses the handshake with ${status}`, async () => {
      const relay = await fakeRelay({ refuseWith: () => status });
      const child = start(signerArgs(relay.url));
      expect(await child.exit()).toBe(1);
      expect(child.stderr).toEqual([
        expect.stringMatching(
          new RegExp(`^mpc-relay-signer: relay refused the connection with HTTP ${status}`),
        ),
      ]);
      expect(relay.upgradeAttempts).toBe(1);
    });
  }

  it('gives one clear line and exit 1 at once when the relay is unreachable at start', async () => {
    const relay = await fakeRelay();
    const url = relay.url;
    await relay.stop();
    cleanups.pop();
    const child = start(signerArgs(url));
    expect(await child.exit()).toBe(1);
    expect(child.stderr).toEqual([
      expect.stringMatching(/^mpc-relay-signer: cannot reach the relay at .*ECONNREFUSED/),
    ]);
  });

  it('reconnects when the relay drops the connection, and gives up after --max-retries', async () => {
    const relay = await fakeRelay({ v2: true });
    const child = start(
      signerArgs(relay.url, '--reconnect-delay', '20', '--reconnect-max-delay', '50', '--max-retries', '3'),
    );
    await child.line(/🆔 Connection id: conn-1/);
    relay.dropAll();
    await child.line(/🆔 Connection id: conn-2/);
    expect(child.stdout.join('\n')).toMatch(
      /🔁 Connection lost \(closed with 1006\); reconnecting in \d+ ms/,
    );
    await relay.stop();
    cleanups.pop();
    expect(await child.exit()).toBe(1);
    expect(child.stderr.at(-1)).toMatch(/^mpc-relay-signer: cannot reach the relay at .* after 4 attempts/);
  });

  it('exits 2 with one line for bad usage: bad URL, missing id, missing or bad key', async () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--url', 'http://x', '--cli-id', 'c', '--ephemeral-key'], {}, /scheme must be ws:\/\/ or wss:\/\//],
      [['--url', 'ws://[nope', '--cli-id', 'c', '--ephemeral-key'], {}, /invalid relay URL/],
      [['--url', 'ws://x', '--ephemeral-key'], {}, /missing --cli-id/],
      [['--url', 'ws://x', '--cli-id', 'bad id', '--ephemeral-key'], {}, /invalid cli id/],
      [['--url', 'ws://x', '--cli-id', 'c'], {}, /no signing key/],
      [
        ['--url', 'ws://x', '--cli-id', 'c'],
        { MPC_RELAY_SIGNER_KEY: 'abc' },
        /MPC_RELAY_SIGNER_KEY: the signing key must be/,
      ],
      [['--url', 'ws://x', '--cli-id', 'c', '--key-file', join(dir, 'none')], {}, /cannot read key file/],
      [
        ['--url', 'ws://x', '--cli-id', 'c', '--ephemeral-key', '--allow-mpc', 'a,bad id'],
        {},
        /invalid mpc id "bad id"/,
      ],
      [['--url', 'ws://x', '--cli-id', 'c', '--scheme', 'musig2'], {}, /missing --key-dir/],
    ];
    for (const [args, env, pattern] of cases) {
      const child = start(args.includes('--allow-mpc') ? args : [...args, '--allow-mpc', 'm1'], env);
      expect(await child.exit()).toBe(2);
      expect(child.stderr).toHaveLength(1);
      expect(child.stderr[0]).toMatch(pattern);
    }
  });

  it('keygen writes a new key file (0600) and refuses to overwrite it', async () => {
    const file = join(dir, 'generated.key');
    const first = start(['keygen', file]);
    expect(await first.exit()).toBe(0);
    expect(first.stdout[1]).toMatch(/^Public key: 0[23][0-9a-f]{64}$/);
    const second = start(['keygen', file]);
    expect(await second.exit()).toBe(2);
    expect(second.stderr[0]).toMatch(/already exists/);
  });
});
