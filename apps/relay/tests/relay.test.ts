import { rmSync } from 'node:fs';
import {
  FULL_SIG as FULL_SIG_MESSAGE,
  REAL_MPC_SENDS as PARTIAL_SIG,
  REAL_CLI_RECEIVES,
  signedFetch,
} from '@mpc-relay/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type Relay, startRelay } from '../src/index.js';
import { Peer, tempDir, waitFor } from './helpers.js';

const CLI_RECEIVES = JSON.stringify(REAL_CLI_RECEIVES);

const dirs: string[] = [];
const relays: Relay[] = [];
afterAll(async () => {
  await Promise.all(relays.map((r) => r.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function relayOn(dataDir: string, lines: string[] = []): Promise<Relay> {
  const relay = await startRelay({ port: 0, dataDir, log: (line) => lines.push(line) });
  relays.push(relay);
  return relay;
}

describe('startRelay (programmatic API)', () => {
  it('runs the Real Interaction Example and logs ids, operation types and sizes, never payloads', async () => {
    const dataDir = tempDir('relay-api-');
    dirs.push(dataDir);
    const lines: string[] = [];
    const relay = await relayOn(dataDir, lines);
    expect(relay.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/production$/);
    expect(relay.managementEndpoint).toBe(`${relay.url.replace('ws://', 'http://')}/@connections`);
    expect(relay.dataDir).toBe(dataDir);

    const cli = await Peer.open(relay.url, 'type=cli&cliId=cli123');
    const mpc = await Peer.open(relay.url, 'type=mpc&mpcId=IgniterC56D');
    mpc.send(PARTIAL_SIG);
    expect(await cli.next()).toBe(CLI_RECEIVES);
    cli.send({
      action: 'sendServer',
      sourceId: 'cli123',
      operationType: 'FullSig',
      message: FULL_SIG_MESSAGE,
    });
    expect(JSON.parse(await mpc.next())).toEqual({
      operationType: 'FullSig',
      from: 'cli123',
      to: 'IgniterC56D',
      message: FULL_SIG_MESSAGE,
    });
    cli.close();
    mpc.close();
    await waitFor(() => lines.filter((l) => l.includes('disconnect')).length >= 2, 'disconnect lines');

    const text = lines.join('\n');
    expect(text).toMatch(/connect\s+\S+= cli:cli123 from 127\.0\.0\.1/);
    expect(text).toMatch(/connect\s+\S+= mpc:IgniterC56D/);
    expect(text).toMatch(
      /message\s+\S+= mpc:IgniterC56D sendServer PartialSig \d+ B to cli:cli123 delivered/,
    );
    expect(text).toMatch(/message\s+\S+= cli:cli123 sendServer FullSig \d+ B to mpc:IgniterC56D delivered/);
    expect(text).toMatch(/deliver\s+\S+= cli:cli123 \d+ B 200/);
    expect(text).toMatch(/disconnect\s+\S+= cli:cli123 1005 client/);
    // Payloads never reach the log.
    expect(text).not.toContain('accountHash');
    expect(text).not.toContain('signatureR');
  });

  it("broadcast through the Lambda Invoke API: the original demo's sendMessage payload reaches cli and mpc", async () => {
    const dataDir = tempDir('relay-invoke-');
    dirs.push(dataDir);
    const lines: string[] = [];
    const relay = await relayOn(dataDir, lines);
    expect(relay.lambdaEndpoint).toBe(relay.url.replace('ws://', 'http://').replace(/\/production$/, ''));
    const cli = await Peer.open(relay.url, 'type=cli&cliId=cli123');
    const mpc = await Peer.open(relay.url, 'type=mpc&mpcId=IgniterC56D');
    // What `aws lambda invoke --endpoint-url ... --function-name broadcast` sends, signed with the relay's key.
    const invoke = (name: string, body: string) =>
      signedFetch(relay, `${relay.lambdaEndpoint}/2015-03-31/functions/${name}/invocations`, {
        method: 'POST',
        body,
      });
    const answer = await invoke(
      'broadcast',
      JSON.stringify({
        action: 'sendmessage',
        message: 'Hello from CLI!',
        apigw_endpoint: relay.managementEndpoint.replace(/\/@connections$/, ''),
      }),
    );
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-amz-executed-version')).toBe('$LATEST');
    expect(answer.headers.get('x-amz-function-error')).toBeNull();
    expect(await answer.json()).toEqual({ sent: 2, stale: 0, failed: 0 });
    const delivery = JSON.stringify({
      operationType: 'broadcast',
      from: 'relay',
      message: 'Hello from CLI!',
    });
    expect(await cli.next()).toBe(delivery);
    expect(await mpc.next()).toBe(delivery);
    await waitFor(
      () => lines.some((l) => / invoke\s+broadcast RequestResponse 200 ok /.test(l)),
      'the invoke line',
    );
    expect(lines.join('\n')).not.toContain('Hello from CLI!');

    const unknown = await invoke('sendMessage', '{}');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    const bad = await invoke('broadcast', 'Hello from CLI!');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-amzn-errortype')).toBe('InvalidRequestContentException');
    const background = await signedFetch(
      relay,
      `${relay.lambdaEndpoint}/2015-03-31/functions/broadcast/invocations`,
      {
        method: 'POST',
        headers: { 'X-Amz-Invocation-Type': 'Event' },
        body: JSON.stringify({ type: 'cli', message: 'later' }),
      },
    );
    expect(background.status).toBe(202);
    expect(JSON.parse(await cli.next())).toEqual({
      operationType: 'broadcast',
      from: 'relay',
      message: 'later',
    });
    cli.close();
    mpc.close();
  });

  it('a restart on the same data folder still delivers a waiting message', async () => {
    const dataDir = tempDir('relay-restart-');
    dirs.push(dataDir);
    const first = await relayOn(dataDir);
    const mpc = await Peer.open(first.url, 'type=mpc&mpcId=IgniterC56D');
    // cli123 is offline: the message waits in the store.
    mpc.send({ ...PARTIAL_SIG, cliToMpc: { cliOffline: 'IgniterC56D' } });
    mpc.send({ action: 'getConnectionId' }); // in-order: answered after the send was handled
    expect(JSON.parse(await mpc.next())).toHaveProperty('connectionId');
    mpc.close();
    await first.close();

    const second = await relayOn(dataDir);
    const cli = await Peer.open(second.url, 'type=cli&cliId=cliOffline');
    cli.send({ action: 'getConnectionId' });
    const received = [await cli.next(), await cli.next()];
    expect(received.map((m) => JSON.parse(m))).toEqual(
      expect.arrayContaining([
        { connectionId: expect.any(String) },
        { operationType: 'PartialSig', from: 'IgniterC56D', message: PARTIAL_SIG.message },
      ]),
    );
    expect(received).toContain(CLI_RECEIVES);
    cli.close();
  });

  it('close() runs $disconnect for open connections and closes them with 1001', async () => {
    const dataDir = tempDir('relay-close-');
    dirs.push(dataDir);
    const lines: string[] = [];
    const relay = await relayOn(dataDir, lines);
    const cli = await Peer.open(relay.url, 'type=cli&cliId=closing');
    await relay.close();
    await waitFor(() => cli.closed, 'the client to be closed');
    expect(cli.closed).toBe(1001);
    expect(lines.join('\n')).toMatch(/disconnect\s+\S+= cli:closing 1001 shutdown/);
  });
});
