import { PROTOCOL_V2 } from '@mpc-relay/protocol';
import { describe, expect, it } from 'vitest';
import { countRequests } from '../src/store/request-counter.js';
import { CLI, fullSig, MPC, partialSig } from './helpers/frames.js';
import { useHarness } from './helpers/harness.js';

// Counts the DynamoDB commands each handler sends, with the SDK middleware every handler client
// carries (the benchmark reads the same process-wide counter).
describe('DynamoDB requests per relayed message', () => {
  const harness = useHarness();

  it('hot path, target online: mpc -> cli is PutItem + Query (one round trip), the reply 1 GetItem: 3 per PartialSig -> FullSig', async () => {
    const cli = await harness.relay.connect(CLI);
    const mpc = await harness.relay.connect(MPC);
    for (let round = 0; round < 3; round++) {
      const toCli = await countRequests(() => mpc.send(partialSig(MPC.id, CLI.id, `tx-${round}`)));
      expect(toCli.result).toEqual({ statusCode: 200 });
      expect(toCli.requests).toEqual({ total: 2, byCommand: { PutItem: 1, Query: 1 } });

      // The conversation records the mpc's connection: no Query, one sequential round trip.
      const toMpc = await countRequests(() => cli.send(fullSig(CLI.id, `tx-${round}`)));
      expect(toMpc.result).toEqual({ statusCode: 200 });
      expect(toMpc.requests).toEqual({ total: 1, byCommand: { GetItem: 1 } });
    }
    expect(cli.received()).toHaveLength(3);
    expect(mpc.received()).toHaveLength(3);
  });

  it('a reply whose recorded connection is gone (410) falls back to the Query of the mpc', async () => {
    const cli = await harness.relay.connect(CLI);
    const old = await harness.relay.connect(MPC);
    await old.send(partialSig(MPC.id, CLI.id, 'tx-moved'));
    await old.disconnect();
    const now = await harness.relay.connect(MPC);
    const reply = await countRequests(() => cli.send(fullSig(CLI.id, 'tx-moved')));
    // GetItem, the post answered 410, DeleteItem of the stale record, then the Query.
    expect(reply.requests).toEqual({ total: 3, byCommand: { GetItem: 1, DeleteItem: 1, Query: 1 } });
    expect(old.received()).toEqual([]);
    expect(now.received()).toHaveLength(1);
  });

  it('hot path, protocol v2 pair online: mpc -> cli 3 in one round trip, the reply 2 (GetItem, then the conditional PutItem)', async () => {
    const v2 = { headers: { 'Sec-WebSocket-Protocol': PROTOCOL_V2 } };
    const cli = await harness.relay.connect(CLI, v2);
    const mpc = await harness.relay.connect(MPC, v2);
    for (let round = 0; round < 3; round++) {
      // Nothing is acknowledged: each side keeps unacked messages, and no send looks at them.
      const toCli = await countRequests(() =>
        mpc.send({ ...partialSig(MPC.id, CLI.id, `tx-${round}`), clientMsgId: `p-${round}` }),
      );
      expect(toCli.requests).toEqual({ total: 3, byCommand: { PutItem: 2, Query: 1 } });
      const toMpc = await countRequests(() =>
        cli.send({ ...fullSig(CLI.id, `tx-${round}`), clientMsgId: `f-${round}` }),
      );
      expect(toMpc.requests).toEqual({ total: 2, byCommand: { GetItem: 1, PutItem: 1 } });
    }
    expect(cli.received()).toHaveLength(3);
    expect(mpc.received()).toHaveLength(3);
  });

  it('each connected connection of the target costs no extra request', async () => {
    await harness.relay.connect(CLI);
    await harness.relay.connect(CLI);
    const mpc = await harness.relay.connect(MPC);
    const { requests } = await countRequests(() => mpc.send(partialSig(MPC.id, CLI.id)));
    expect(requests.total).toBe(2);
  });

  it('off the hot path: offline target +1 UpdateItem (inbox count) +1 PutItem +1 Query (reconnect race re-check); refusals before any lookup cost nothing', async () => {
    const mpc = await harness.relay.connect(MPC);
    const offline = await countRequests(() => mpc.send(partialSig(MPC.id, CLI.id)));
    expect(offline.requests).toEqual({ total: 5, byCommand: { PutItem: 2, Query: 2, UpdateItem: 1 } });
    const spoofed = await countRequests(() => mpc.send(partialSig('someone', CLI.id)));
    expect(spoofed.requests.total).toBe(0);
  });

  it('other routes: $connect 2 (Query for the connection limit), getConnectionId 1 (+1 BatchWriteItem when it delivers), $disconnect 1, ping 0', async () => {
    const connect = await countRequests(() => harness.relay.connect(CLI));
    expect(connect.requests).toEqual({ total: 2, byCommand: { Query: 1, PutItem: 1 } });
    const cli = connect.result;
    const empty = await countRequests(() => cli.send({ action: 'getConnectionId' }));
    expect(empty.requests).toEqual({ total: 1, byCommand: { Query: 1 } });
    const ping = await countRequests(() => cli.send({ action: 'ping' }));
    expect(ping.requests.total).toBe(0);
    const unknown = await countRequests(() => cli.send({ action: 'nope' }));
    expect(unknown.requests.total).toBe(0);
    const disconnect = await countRequests(() => cli.disconnect());
    expect(disconnect.requests).toEqual({ total: 1, byCommand: { DeleteItem: 1 } });

    const mpc = await harness.relay.connect(MPC);
    await mpc.send(partialSig(MPC.id, CLI.id, 'a'));
    await mpc.send(partialSig(MPC.id, CLI.id, 'b'));
    const back = await harness.relay.connect(CLI);
    const drain = await countRequests(() => back.send({ action: 'getConnectionId' }));
    expect(drain.requests).toEqual({ total: 2, byCommand: { Query: 1, BatchWriteItem: 1 } });
    expect(back.received()).toHaveLength(2);
  });
});
