/**
 * BatchWriteItem answering with every item in `UnprocessedItems` (DynamoDB throttling a batch: the
 * SDK returns them, retrying is the caller's job), injected by the fault proxy behind
 * DYNAMODB_ENDPOINT. The relay retries, then fails loudly instead of dropping them, and each caller
 * keeps its guarantee: a drain whose deletes were lost still answers the connection id and the
 * message is delivered again later (never lost); an ack whose deletes were lost is answered INTERNAL
 * and the message stays to be redelivered.
 */
import { PROTOCOL_V2 } from '@mpc-relay/protocol';
import { type Relay, startRelay } from '@mpc-relay/relay';
import { partialSig } from '@mpc-relay/testing';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { FaultProxy, FORWARD, unprocessedBatch } from './helpers/fault-proxy.js';
import { errorOf, isConnectionId, V1Peer, V1Socket } from './helpers/v1-client.js';
import { removeTempDirs, tempDir } from './helpers/wait.js';

let relay: Relay;
let dynamo: FaultProxy;
let batchWrites = 0;

beforeAll(async () => {
  dynamo = await FaultProxy.start();
  relay = await startRelay({
    port: 0,
    dataDir: tempDir('batch'),
    env: { DYNAMODB_ENDPOINT: dynamo.url, LOG_LEVEL: 'SILENT' },
  });
  dynamo.target = relay.dynamoEndpoint;
});

afterEach(() => {
  dynamo.rule = () => FORWARD;
});

afterAll(async () => {
  await relay?.close();
  await dynamo?.close();
  removeTempDirs();
});

function failBatches(): void {
  batchWrites = 0;
  dynamo.rule = (request) => {
    if (request.operation !== 'BatchWriteItem') return FORWARD;
    batchWrites += 1;
    return unprocessedBatch(request);
  };
}

async function storeFor(cliId: string, mpcId: string, transactionId: string): Promise<void> {
  const mpc = new V1Peer(() => relay.url, { type: 'mpc', id: mpcId });
  await mpc.connect();
  expect(await mpc.sendConfirmed(partialSig(mpcId, cliId, transactionId))).toBe(1);
  await mpc.stop();
}

it('a v1 drain whose deletes stay unprocessed answers the connection id and redelivers later', async () => {
  await storeFor('cli-batch-v1', 'mpc-batch-v1', 'tx-batch-1');
  failBatches();
  const cli = await V1Socket.openPeer(relay.url, { type: 'cli', id: 'cli-batch-v1' });
  cli.send({ action: 'getConnectionId' });
  const delivered = await cli.waitFrame((text) => text.includes('tx-batch-1'));
  const answered = await cli.waitFrame(isConnectionId, delivered.index);
  expect(errorOf(answered.text)).toBeUndefined();
  // Retried (five attempts), then given up on loudly: not silently dropped.
  expect(batchWrites).toBe(5);
  cli.close();

  // The delete never happened: the next connection gets the message again (at-least-once).
  dynamo.rule = () => FORWARD;
  const again = await V1Socket.openPeer(relay.url, { type: 'cli', id: 'cli-batch-v1' });
  again.send({ action: 'getConnectionId' });
  const redelivered = await again.waitFrame((text) => text.includes('tx-batch-1') || isConnectionId(text));
  expect(redelivered.text).toContain('tx-batch-1');
  await again.waitFrame(isConnectionId, redelivered.index);
  // Delivered and deleted now: a third connection gets only its id.
  again.send({ action: 'getConnectionId' });
  const third = await again.waitFrame(isConnectionId, redelivered.index + 2);
  expect(again.frames.slice(redelivered.index + 2, third.index)).toEqual([]);
  again.close();
});

it('a v2 ack whose deletes stay unprocessed is answered INTERNAL and the message is redelivered', async () => {
  await storeFor('cli-batch-v2', 'mpc-batch-v2', 'tx-batch-2');
  const cli = await V1Socket.openPeer(
    relay.url,
    { type: 'cli', id: 'cli-batch-v2' },
    { protocols: [PROTOCOL_V2] },
  );
  expect(cli.protocol).toBe(PROTOCOL_V2);
  cli.send({ action: 'getConnectionId', v: 2 });
  const delivered = await cli.waitFrame((text) => text.includes('tx-batch-2'));
  await cli.waitFrame(isConnectionId, delivered.index);
  const { messageId } = JSON.parse(delivered.text) as { messageId: string };

  failBatches();
  const mark = cli.frames.length;
  cli.send({ action: 'ack', messageIds: [messageId] });
  const refused = await cli.waitFrame((text) => errorOf(text) !== undefined, mark);
  expect(errorOf(refused.text)?.code).toBe('INTERNAL');
  cli.close();

  dynamo.rule = () => FORWARD;
  const again = await V1Socket.openPeer(
    relay.url,
    { type: 'cli', id: 'cli-batch-v2' },
    { protocols: [PROTOCOL_V2] },
  );
  again.send({ action: 'getConnectionId', v: 2 });
  const redelivered = await again.waitFrame((text) => text.includes('tx-batch-2') || isConnectionId(text));
  expect(JSON.parse(redelivered.text).messageId).toBe(messageId);
  again.close();
});
