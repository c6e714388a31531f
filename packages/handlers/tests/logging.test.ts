import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { partialSig } from './helpers/frames.js';
import { type Harness, startHarness } from './helpers/harness.js';
import { useLogCapture } from './helpers/logs.js';

// Logging policy: ids, sizes, digests and outcomes; never payload contents or tokens.
describe('logs', () => {
  let harness: Harness;
  const { lines, capture } = useLogCapture();
  beforeAll(async () => {
    harness = await startHarness('src');
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('carry ids, sizes and the sha256 of a relayed frame, never its payload', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'log-cli' });
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'log-mpc' });
    const secret = 'SECRET-PARTIAL-SIGNATURE-0x5eed';
    const frame = partialSig('log-mpc', 'log-cli');
    capture();
    await mpc.send({ ...frame, message: { ...frame.message, partialSig: secret } });
    await cli.send({
      action: 'sendServer',
      sourceId: 'log-cli',
      operationType: 'X',
      message: secret,
      cliToMpc: 1,
    });
    await cli.send(`{"action": "${secret}"}`);
    await cli.send(`not json ${secret}`);
    vi.restoreAllMocks();

    const delivered = cli.received()[0] ?? '';
    expect(delivered).toContain(secret);
    const text = lines.join('');
    expect(text).not.toContain(secret);
    const entries = lines.flatMap((line) => line.split('\n').filter(Boolean)).map((line) => JSON.parse(line));
    const relayed = entries.find((entry) => entry.message === 'relayed');
    expect(relayed).toMatchObject({
      level: 'INFO',
      service: 'mpc-relay',
      routeKey: 'sendServer',
      connectionId: mpc.connectionId,
      peerType: 'mpc',
      peerId: 'log-mpc',
      outcome: 'delivered',
      targetType: 'cli',
      targetId: 'log-cli',
      operationType: 'PartialSig',
      bytes: Buffer.byteLength(delivered),
      sha256: createHash('sha256').update(delivered).digest('hex'),
    });
    expect(entries.filter((entry) => entry.outcome === 'error').map((entry) => entry.errorCode)).toEqual([
      'INVALID_FRAME',
      'UNKNOWN_ACTION',
      'INVALID_JSON',
    ]);
  });

  it('never carry the Authorization header or a token from the query', async () => {
    capture();
    await harness.relay.connect(
      { type: 'cli', id: 'tok-cli' },
      { headers: { Authorization: 'Allow', 'X-Secret': 'TOKEN-abc.def.ghi' } },
    );
    vi.restoreAllMocks();
    expect(lines.join('')).not.toContain('TOKEN-abc.def.ghi');
    expect(lines.join('')).toContain('connect allowed');
  });
});
