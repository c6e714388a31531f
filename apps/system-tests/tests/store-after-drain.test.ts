/**
 * Regression test (found by this suite, fixed in b671bbd "reconnect race fix"): a message stored
 * for an offline peer whose inbox PutItem lands AFTER the peer reconnected and drained its inbox
 * (getConnectionId) used to stay in the inbox while the peer was connected: a v1 client, which
 * sends getConnectionId once per connection, got it only at its next reconnect, and never if that
 * was later than INBOX_TTL_SECONDS. The relay now Queries the target's connections again after
 * storing and drains to a connection that appeared meanwhile.
 *
 * The race happens without any injected fault (a cli reconnecting while the mpc sends); the proxy
 * behind DYNAMODB_ENDPOINT only makes the order deterministic by holding the inbox PutItem until
 * the cli's getConnectionId was answered.
 */
import { type Relay, startRelay } from '@mpc-relay/relay';
import { partialSig } from '@mpc-relay/testing';
import { afterAll, expect, it } from 'vitest';
import { FaultProxy, FORWARD } from './helpers/fault-proxy.js';
import { V1Peer, V1Socket } from './helpers/v1-client.js';
import { removeTempDirs, tempDir, waitFor } from './helpers/wait.js';

let relay: Relay | undefined;
let dynamo: FaultProxy | undefined;
afterAll(async () => {
  await relay?.close();
  await dynamo?.close();
  removeTempDirs();
});

it('a message stored while its target reconnects reaches the connected target without another getConnectionId', async () => {
  dynamo = await FaultProxy.start();
  relay = await startRelay({
    port: 0,
    dataDir: tempDir('known'),
    env: { DYNAMODB_ENDPOINT: dynamo.url, LOG_LEVEL: 'SILENT' },
  });
  dynamo.target = relay.dynamoEndpoint;
  const mpc = new V1Peer(() => relay!.url, { type: 'mpc', id: 'mpc-race' });
  await mpc.connect();

  // The cli is offline; hold the inbox PutItem of the next message until the cli is back.
  let release!: () => void;
  const cliBack = new Promise<void>((resolve) => {
    release = resolve;
  });
  dynamo.rule = (request) =>
    request.operation === 'PutItem' && request.body.toString().includes('INBOX#cli#cli-race')
      ? { kind: 'hold', until: cliBack }
      : FORWARD;
  const sending = mpc.sendConfirmed(partialSig('mpc-race', 'cli-race', 'race-1'));
  await waitFor(() => dynamo!.stats.held === 1, 'the inbox PutItem to be held');

  const cli = await V1Socket.openPeer(relay.url, { type: 'cli', id: 'cli-race' });
  const mark = cli.frames.length;
  cli.send({ action: 'getConnectionId' });
  await cli.waitFrame((text) => text.startsWith('{"connectionId":'), mark);
  release();
  expect(await sending).toBe(1);
  dynamo.rule = () => FORWARD;

  // The cli stays connected (as the original demo's Go client does, with WebSocket pings only).
  const delivered = await cli
    .waitFrame((text) => text.includes('race-1'), 0, 10_000)
    .then(() => true)
    .catch(() => false);
  cli.close();
  await mpc.stop();
  expect(delivered).toBe(true);
});
