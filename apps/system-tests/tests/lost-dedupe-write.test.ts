/**
 * Regression test (found by this suite, fixed in 052314e): a v2 send whose dedupe write (the
 * conditional PutItem of the message item) was applied but whose answer was lost (a 500 / timeout
 * after the write: the SDK retries it) used to meet its own item: the retry failed with
 * ConditionalCheckFailedException, read as `duplicate`; the sender got
 * `{"ack":{...,"status":"duplicate"}}` for its FIRST copy and the message was never posted although
 * the receiver was connected (a v1 receiver got it only at its next reconnect, a v2 one at a
 * later redelivery, and after INBOX_TTL_SECONDS it was lost). The write now carries a write id that
 * its own retry matches.
 *
 * The fault is injected from the outside (a proxy behind DYNAMODB_ENDPOINT forwards the
 * conditional PutItem, then answers 500): a real DynamoDB does this on a timeout or a dropped
 * connection after the write.
 */
import { type Relay, startRelay } from '@mpc-relay/relay';
import { partialSig } from '@mpc-relay/testing';
import { afterAll, expect, it } from 'vitest';
import { FaultProxy, Faults, FORWARD, faultBurst } from './helpers/fault-proxy.js';
import { ackOf, V1Peer } from './helpers/v1-client.js';
import { removeTempDirs, sleep, tempDir } from './helpers/wait.js';

let relay: Relay | undefined;
let dynamo: FaultProxy | undefined;
afterAll(async () => {
  await relay?.close();
  await dynamo?.close();
  removeTempDirs();
});

for (const receiver of ['v1', 'v2'] as const) {
  it(`a v2 send whose conditional write answer was lost still reaches the connected ${receiver} receiver`, async () => {
    dynamo ??= await FaultProxy.start();
    relay ??= await startRelay({
      port: 0,
      dataDir: tempDir('known-dedupe'),
      env: { DYNAMODB_ENDPOINT: dynamo.url, LOG_LEVEL: 'SILENT' },
    });
    dynamo.target = relay.dynamoEndpoint;
    const r = relay;
    const mpc = new V1Peer(() => r.url, { type: 'mpc', id: `mpc-lost-${receiver}` }, { v2: true });
    const cli = new V1Peer(
      () => r.url,
      { type: 'cli', id: `cli-lost-${receiver}` },
      { v2: receiver === 'v2' },
    );
    await Promise.all([mpc.connect(), cli.connect()]);

    const burst = faultBurst(
      (request) => request.operation === 'PutItem' && request.body.toString().includes('ConditionExpression'),
      Faults.lostWriteAnswer,
      1,
    );
    dynamo.rule = burst.rule;
    const frame = {
      ...partialSig(mpc.peer.id, cli.peer.id, 'lost-1'),
      clientMsgId: 'lost-1',
    };
    expect(await mpc.sendConfirmed(frame)).toBe(1);
    dynamo.rule = () => FORWARD;
    expect(burst.remaining()).toBe(0);
    const ack = mpc.socket!.frames.map(ackOf).find((a) => a?.clientMsgId === 'lost-1');

    // The receiver stays connected and active (v2: pings with the marker; with the default
    // REDELIVERY_DELAY_SECONDS of 30 s the waiting copy is not due yet).
    for (let i = 0; i < 20 && !cli.received.counts.has('lost-1'); i++) {
      await sleep(250);
      cli.socket?.send(receiver === 'v2' ? { action: 'ping', v: 2 } : { action: 'ping' });
    }
    const delivered = cli.received.counts.has('lost-1');
    await Promise.all([mpc.stop(), cli.stop()]);
    console.log(`${receiver} receiver: ack ${JSON.stringify(ack)}, delivered ${delivered}`);
    expect(delivered).toBe(true);
    expect(ack?.status).not.toBe('duplicate');
  });
}
