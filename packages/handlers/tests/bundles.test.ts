import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '@mpc-relay/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_NAMES } from '../src/routes.js';
import { countRequests } from '../src/store/request-counter.js';
import { expectErrorFrame, fullSig, partialSig } from './helpers/frames.js';
import { type Harness, startHarness } from './helpers/harness.js';

const dist = join(import.meta.dirname, '..', 'dist');

// The built bundles, exactly what Pulumi ships and the local gateway runs (turbo builds before test).
describe('built bundles (dist/<handler>/index.mjs)', () => {
  let harness: Harness;
  // Imports every built bundle cold: 30 s was not enough on a loaded shared machine.
  beforeAll(async () => {
    harness = await startHarness('dist');
  }, 90_000);
  afterAll(async () => {
    await harness?.close();
  });

  it('exist for every handler of the route table, with a size report', () => {
    const report = JSON.parse(readFileSync(join(dist, 'bundle-report.json'), 'utf8'));
    for (const name of HANDLER_NAMES) {
      expect(existsSync(join(dist, name, 'index.mjs'))).toBe(true);
      expect(report.bundles[name].bytes).toBeGreaterThan(0);
      expect(report.bundles[name].gzipBytes).toBeGreaterThan(0);
    }
  });

  it('carry one copy of each package (one Powertools version, so one commons)', () => {
    const report = JSON.parse(readFileSync(join(dist, 'bundle-report.json'), 'utf8'));
    for (const name of HANDLER_NAMES) expect(report.bundles[name].duplicatePackages).toEqual({});
  });

  it('bundle the AWS SDK rather than relying on the Lambda runtime copy', () => {
    const code = readFileSync(join(dist, 'sendServer', 'index.mjs'), 'utf8');
    expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
    expect(code).not.toMatch(/import\(\s*["']@aws-sdk\//);
  });

  it('take credentials from the environment only (no SSO / STS / container credential chain)', () => {
    for (const name of HANDLER_NAMES) {
      const code = readFileSync(join(dist, name, 'index.mjs'), 'utf8');
      expect(code).toContain('AWS_ACCESS_KEY_ID');
      expect(code).not.toContain('AssumeRoleWithWebIdentity');
      expect(code).not.toContain('AWS_CONTAINER_CREDENTIALS_FULL_URI');
      expect(code).not.toContain('AWS_WEB_IDENTITY_TOKEN_FILE');
    }
  });

  it('run the Real Interaction Example end to end', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'cli123' });
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'IgniterC56D' });
    expect((await cli.send({ action: 'getConnectionId' })).body).toBe(
      JSON.stringify({ connectionId: cli.connectionId }),
    );
    expect(await mpc.send(partialSig('IgniterC56D', 'cli123'))).toEqual({ statusCode: 200 });
    expect(JSON.parse(cli.received()[0] ?? '{}')).toMatchObject({
      operationType: 'PartialSig',
      from: 'IgniterC56D',
    });
    expect(await cli.send(fullSig('cli123'))).toEqual({ statusCode: 200 });
    expect(JSON.parse(mpc.received()[0] ?? '{}')).toMatchObject({ from: 'cli123', to: 'IgniterC56D' });
  });

  it('count their DynamoDB requests into the shared process-wide counter', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'count-cli' });
    const mpc = await harness.relay.connect({ type: 'mpc', id: 'count-mpc' });
    const toCli = await countRequests(() => mpc.send(partialSig('count-mpc', 'count-cli')));
    expect(toCli.requests.total).toBe(2);
    const toMpc = await countRequests(() => cli.send(fullSig('count-cli')));
    expect(toMpc.requests.total).toBe(1);
  });

  it('answer error frames and refuse the handshake as the sources do', async () => {
    const cli = await harness.relay.connect({ type: 'cli', id: 'lonely' });
    expectErrorFrame(await cli.send(fullSig('lonely')), ErrorCode.NoMapping);
    expectErrorFrame(await cli.send('not json'), ErrorCode.InvalidJson);
    expectErrorFrame(await cli.send({ action: 'dance' }), ErrorCode.UnknownAction);
    expect(JSON.parse((await cli.send({ action: 'ping' })).body ?? '{}').pong).toBeTypeOf('number');
    await expect(
      harness.relay.connect({ type: 'cli', id: 'x' }, { headers: { Authorization: 'Deny' } }),
    ).rejects.toThrow('denied');
    const stale = await harness.relay.connect({ type: 'cli', id: 'gone' });
    harness.management.gone.add(stale.connectionId);
    expect(await harness.relay.handlers.broadcast({ type: 'cli', message: 'hi' })).toMatchObject({
      stale: 1,
    });
  });
});
