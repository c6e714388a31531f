/** The mpc simulator and `pnpm demo` as processes, against the real local relay. */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Relay, startRelay } from '@mpc-relay/relay';
import { attachCosigner, RelayClient, SingleKeyCosigner, verifySchnorr } from '@mpc-relay/signer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Child } from '../../signer/tests/process.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const DEMO = fileURLToPath(new URL('../dist/demo.js', import.meta.url));
const SIGNER = fileURLToPath(new URL('../../signer/dist/main.js', import.meta.url));
const hex = (text: unknown) => Buffer.from(String(text), 'hex');

let root: string;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mpc-sim-e2e-'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function relayOn(): Promise<Relay> {
  const relay = await startRelay({ port: 0, dataDir: join(root, `data-${cleanups.length}-${Date.now()}`) });
  cleanups.push(() => relay.close());
  return relay;
}

function start(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = new Child(script, args, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env });
  cleanups.push(() => child.kill());
  return child;
}

/** The simulator as the mpc IgniterC56D, sending to the cli cli123 through `relay`. */
function simulator(relay: Relay, args: string[]): Child {
  return start(MAIN, ['--url', relay.url, '--mpc-id', 'IgniterC56D', '--cli-id', 'cli123', ...args]);
}

describe('mpc-relay-mpc-sim against the local relay', () => {
  it('sends PartialSigs to a live signer, verifies every FullSig against its key, exits 0', async () => {
    const relay = await relayOn();
    const cosigner = SingleKeyCosigner.generate();
    const signer = new RelayClient({ url: relay.url, peer: { type: 'cli', id: 'cli123' } });
    cleanups.push(() => signer.close());
    attachCosigner(signer, cosigner);
    await signer.connect();
    // The run ends on the event (the fifth FullSig), not on a timer: the default 10 s wait per
    // FullSig is shorter than the first round trips take on a loaded machine (every route's bundle
    // starts cold: 1.5-3 s at load 10), so it is set out of the way.
    const child = simulator(relay, [
      '--count',
      '5',
      '--rate',
      '20',
      '--signer-pubkey',
      cosigner.publicKeyHex,
      '--timeout',
      '60000',
    ]);
    const code = await child.exit(80_000);
    const output = [...child.stdout, ...child.stderr].join('\n');
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
    expect(child.stdout.filter((line) => line.startsWith('✅ FullSig'))).toHaveLength(5);
    expect(child.stdout.at(-1)).toMatch(
      /^🎉 Summary: 5\/5 verified, 0 refused, 0 invalid, 0 unanswered; latency min/,
    );
  });

  it('--scheme musig2: key setup, then 20 MuSig2 signatures with the signer command, each verified (BIP-340)', async () => {
    const relay = await relayOn();
    const cliKeys = join(root, `cli-keys-${Date.now()}`);
    const mpcKeys = join(root, `mpc-keys-${Date.now()}`);
    const signer = start(SIGNER, [
      '--url',
      relay.url,
      '--cli-id',
      'cli123',
      '--scheme',
      'musig2',
      '--key-dir',
      cliKeys,
      '--allow-mpc',
      'IgniterC56D',
      '--json',
    ]);
    await signer.line(/"event":"connectionId"/, 60_000);
    const child = simulator(relay, [
      '--scheme',
      'musig2',
      '--key-dir',
      mpcKeys,
      '--count',
      '20',
      '--rate',
      '50',
      '--timeout',
      '120000',
      '--json',
    ]);
    expect(await child.exit(240_000)).toBe(0);
    const events = child.events();
    const setup = events.find((e) => e.event === 'keySetup') as Record<string, unknown>;
    expect(setup).toMatchObject({ fresh: true, peerId: 'cli123', sealed: false });
    const signatures = events.filter((e) => e.event === 'signature');
    expect(signatures).toHaveLength(20);
    for (const each of signatures) {
      expect(each.aggregatePublicKey).toBe(setup.aggregatePublicKey);
      expect(verifySchnorr(hex(each.signature), hex(each.messageDigest), hex(each.aggregatePublicKey))).toBe(
        true,
      );
    }
    expect(events.at(-1)).toMatchObject({
      event: 'summary',
      verified: 20,
      refused: 0,
      invalid: 0,
      timedOut: 0,
    });
    await signer.line(/"event":"keySetup"/);
    const signerEvents = signer.events();
    expect(signerEvents.find((e) => e.event === 'keySetup')).toMatchObject({
      aggregatePublicKey: setup.aggregatePublicKey,
    });
    expect(signerEvents.filter((e) => e.event === 'signed')).toHaveLength(20);
    for (const dir of [cliKeys, mpcKeys]) {
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      const files = await readdir(dir);
      expect(files).toHaveLength(1);
      expect((await stat(join(dir, files[0] as string))).mode & 0o777).toBe(0o600);
    }
    // A second run reuses the pair: no new key setup.
    const again = simulator(relay, [
      '--scheme',
      'musig2',
      '--key-dir',
      mpcKeys,
      '--count',
      '1',
      '--timeout',
      '120000',
    ]);
    expect(await again.exit(120_000)).toBe(0);
    expect(again.stdout.join('\n')).toContain('🔑 MuSig2 pair loaded with cli123');
  }, 300_000);

  it('exits 1 when nobody answers (no signer online) after its timeout', async () => {
    const relay = await relayOn();
    const child = start(MAIN, [
      '--url',
      relay.url,
      '--mpc-id',
      'm1',
      '--cli-id',
      'nobody',
      '--timeout',
      '1000',
    ]);
    expect(await child.exit(60_000)).toBe(1);
    expect(child.stdout.at(-1)).toMatch(/💥 Summary: 0\/1 verified, 0 refused, 0 invalid, 1 unanswered$/);
  });
});

describe('pnpm demo (node apps/mpc-sim/dist/demo.js)', () => {
  it("narrates the original demo's Real Interaction Example on a fresh local relay and ends with the verified FullSig", async () => {
    const before = new Set(await readdir(tmpdir()));
    const child = start(DEMO, ['--timeout', '60000']);
    const code = await child.exit(90_000);
    const output = [...child.stdout, ...child.stderr].join('\n');
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
    const text = child.stdout.join('\n');
    const headings = [
      '🔌 Client1 connects',
      '🔌 Client2 connects',
      '📨 Client2 sends:',
      '📥 Client1 receives:',
      '📤 Client1 auto sends:',
      '📬 Client2 receives:',
      '✅ FullSig verified',
    ];
    let position = -1;
    for (const heading of headings) {
      const found = text.indexOf(heading, position + 1);
      expect({ heading, found: found > position }).toEqual({ heading, found: true });
      position = found;
    }
    // The exact frames of the original demo, pretty-printed.
    expect(text).toContain(
      [
        '📨 Client2 sends:',
        '{',
        '  "action": "sendServer",',
        '  "sourceId": "IgniterC56D",',
        '  "cliToMpc": {',
        '    "cli123": "IgniterC56D"',
        '  },',
        '  "operationType": "PartialSig",',
        '  "message": {',
        '    "accountHash": "accountHash",',
        '    "teamId": "teamId",',
        '    "transactionId": "transactionId",',
        '    "partialSig": "partialSig"',
        '  }',
        '}',
      ].join('\n'),
    );
    expect(text).toContain(
      [
        '📥 Client1 receives:',
        '{',
        '  "operationType": "PartialSig",',
        '  "from": "IgniterC56D",',
        '  "message": {',
      ].join('\n'),
    );
    expect(text).toMatch(
      /📬 Client2 receives:\n\{\n {2}"operationType": "FullSig",\n {2}"from": "cli123",\n {2}"to": "IgniterC56D",/,
    );
    expect(text).toMatch(
      /"signatureR": "[0-9a-f]{64}",\n {4}"signatureS": "[0-9a-f]{64}",\n {4}"signatureV": "[01]"/,
    );
    expect(text).toMatch(/📨 Message from IgniterC56D: \{"accountHash":"accountHash"/);
    // The throwaway data folder is gone.
    const leftovers = (await readdir(tmpdir())).filter(
      (name) => name.startsWith('mpc-relay-demo-') && !before.has(name),
    );
    expect(leftovers).toEqual([]);
  });

  it('--protocol v2 narrates the same exchange with ids, ack results and acks', async () => {
    const child = start(DEMO, ['--timeout', '60000', '--protocol', 'v2']);
    const code = await child.exit(90_000);
    const text = child.stdout.join('\n');
    expect({ code, output: code === 0 ? '' : text }).toEqual({ code: 0, output: '' });
    expect(text).toMatch(/📨 Client2 sends:\n[\s\S]*"clientMsgId": "[^"]+"\n\}/);
    expect(text).toMatch(/📥 Client1 receives:\n[\s\S]*"messageId": "[^"]+",\n {2}"clientMsgId"/);
    expect(text).toMatch(
      /⬅️ {2}Client2 receives \{"ack":\{"clientMsgId":"[^"]+","messageId":"[^"]+","status":"delivered"\}\}/,
    );
    expect(text).toMatch(/➡️ {2}Client1 sends \{"action":"ack","messageIds":\["[^"]+"\]\}/);
    expect(text).toMatch(/📨 Message from IgniterC56D: \{"accountHash":"accountHash"/);
    expect(text).toContain('✅ FullSig verified');
  });

  it('pnpm demo -- --scheme musig2 --json: exit 0, the last line is the signature anyone can verify', async () => {
    // pnpm passes the literal `--` through: the demo ignores it.
    const child = start(DEMO, ['--', '--scheme', 'musig2', '--json', '--timeout', '60000']);
    const code = await child.exit(120_000);
    const text = child.stdout.join('\n');
    expect({ code, output: code === 0 ? '' : text }).toEqual({ code: 0, output: '' });
    expect(text).toMatch(/📥 Client2 \(mpc\) receives:\n[\s\S]*"operationType": "MuSig2Nonce"/);
    expect(text).toContain('✅ schnorr.verify (BIP-340) accepts the signature under the aggregate key');
    const last = JSON.parse(child.stdout.at(-1) as string);
    expect(last).toMatchObject({
      scheme: 'BIP-340/MuSig2',
      aggregatePublicKey: expect.stringMatching(/^[0-9a-f]{64}$/),
      messageDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
      signature: expect.stringMatching(/^[0-9a-f]{128}$/),
    });
    expect(verifySchnorr(hex(last.signature), hex(last.messageDigest), hex(last.aggregatePublicKey))).toBe(
      true,
    );
  }, 150_000);

  it('exits 1 with a clear line when the relay refuses it, and still cleans up', async () => {
    const relay = await relayOn();
    const child = start(DEMO, ['--url', relay.url, '--token', 'Deny']);
    expect(await child.exit(60_000)).toBe(1);
    expect(child.stdout.at(-1)).toMatch(/^❌ Demo failed: relay refused the connection with HTTP 403/);
  });
});
