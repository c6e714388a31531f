import { REAL_CLI_RECEIVES, REAL_CLI_SENDS, REAL_MPC_RECEIVES, REAL_MPC_SENDS } from '@mpc-relay/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalGateway } from '../src/index.js';
import { ALLOW, TestClient } from './helpers.js';
import { startRealRelay, Wscat } from './real-relay.js';

// The original demo README, end to end through the gateway and the real handler bundles, exact JSON.

const CLI_ID = '6f3a8b0b-1f7f-4681-ae94-2b213f95f8a0';
const MPC_ID = 'b61c9f9e-13b8-4c87-a750-16e1cfdabe9c';
const WSCAT_MPC_SENDS = {
  action: 'sendServer',
  sourceId: MPC_ID,
  cliToMpc: { [CLI_ID]: MPC_ID },
  operationType: 'signing',
  message: { txId: 'abc123', signature: '0xdeadbeef' },
};
const WSCAT_CLI_RECEIVES = {
  operationType: 'signing',
  from: MPC_ID,
  message: { txId: 'abc123', signature: '0xdeadbeef' },
};
const WSCAT_CLI_SENDS = {
  action: 'sendServer',
  sourceId: CLI_ID,
  operationType: 'fullSig',
  message: { txId: 'abc123', signature: '0xdeadbeef' },
};
const WSCAT_MPC_RECEIVES = {
  operationType: 'fullSig',
  from: CLI_ID,
  to: MPC_ID,
  message: { txId: 'abc123', signature: '0xdeadbeef' },
};

let relay: Awaited<ReturnType<typeof startRealRelay>>;
let gateway: LocalGateway;
beforeAll(async () => {
  relay = await startRealRelay();
  gateway = relay.gateway;
});
afterAll(async () => {
  await relay?.close();
});

describe('v1 examples over real WebSocket connections (ws client)', () => {
  it('getConnectionId answers the connection id the gateway assigned', async () => {
    const cli = await TestClient.open(`${gateway.url}?type=cli&cliId=idcheck`, { headers: ALLOW });
    cli.send({ action: 'getConnectionId' });
    const answer = await cli.nextJson();
    expect(gateway.connections().map((c) => c.connectionId)).toContain(answer.connectionId);
    cli.close();
  });

  it('Real Interaction Example: exact v1 JSON both ways', async () => {
    const cli = await TestClient.open(`${gateway.url}?type=cli&cliId=cli123`, { headers: ALLOW });
    const mpc = await TestClient.open(`${gateway.url}?type=mpc&mpcId=IgniterC56D`, { headers: ALLOW });
    mpc.send(JSON.stringify(REAL_MPC_SENDS, null, 2)); // pretty-printed, as in the original demo
    expect(await cli.next()).toBe(JSON.stringify(REAL_CLI_RECEIVES));
    cli.send(REAL_CLI_SENDS);
    expect(await mpc.next()).toBe(JSON.stringify(REAL_MPC_RECEIVES));
    expect(cli.messages).toEqual([]);
    expect(mpc.messages).toEqual([]);
    cli.close();
    mpc.close();
  });

  it('wscat walkthrough: signing to the cli, fullSig back to the mpc', async () => {
    const cli = await TestClient.open(`${gateway.url}?type=cli&cliId=${CLI_ID}`, { headers: ALLOW });
    const mpc = await TestClient.open(`${gateway.url}?type=mpc&mpcId=${MPC_ID}`, { headers: ALLOW });
    mpc.send(WSCAT_MPC_SENDS);
    expect(await cli.nextJson()).toEqual(WSCAT_CLI_RECEIVES);
    cli.send(WSCAT_CLI_SENDS);
    expect(await mpc.nextJson()).toEqual(WSCAT_MPC_RECEIVES);
    cli.close();
    mpc.close();
  });

  it('the original demo connection without Authorization is refused with 401', async () => {
    expect((await TestClient.refusal(`${gateway.url}?type=cli&cliId=cli123`)).status).toBe(401);
  });
});

describe('v1 examples driven with the real wscat binary', () => {
  const open = async (query: string) => {
    let id = '';
    const listener = (c: { connectionId: string; query: Record<string, string> }) => {
      if (
        new URLSearchParams(query).get('cliId') === (c.query.cliId ?? null) ||
        new URLSearchParams(query).get('mpcId') === (c.query.mpcId ?? null)
      )
        id = c.connectionId;
    };
    gateway.on('connect', listener);
    try {
      return await Wscat.connect(`${gateway.url}?${query}`, () => id !== '');
    } finally {
      gateway.off('connect', listener);
    }
  };

  it('wscat walkthrough and Real Interaction Example, exact JSON', async () => {
    const cli = await open(`type=cli&cliId=${CLI_ID}`);
    const mpc = await open(`type=mpc&mpcId=${MPC_ID}`);
    try {
      cli.send('{"action":"getConnectionId"}');
      expect(JSON.parse(await cli.next())).toEqual({
        connectionId: expect.stringMatching(/^[A-Za-z0-9_-]{15}=$/),
      });

      mpc.send(JSON.stringify(WSCAT_MPC_SENDS));
      expect(await cli.next()).toBe(JSON.stringify(WSCAT_CLI_RECEIVES));
      cli.send(JSON.stringify(WSCAT_CLI_SENDS));
      expect(await mpc.next()).toBe(JSON.stringify(WSCAT_MPC_RECEIVES));
    } finally {
      await Promise.all([cli.close(), mpc.close()]);
    }

    const cli2 = await open('type=cli&cliId=cli123');
    const mpc2 = await open('type=mpc&mpcId=IgniterC56D');
    try {
      mpc2.send(JSON.stringify(REAL_MPC_SENDS));
      expect(await cli2.next()).toBe(JSON.stringify(REAL_CLI_RECEIVES));
      cli2.send(JSON.stringify(REAL_CLI_SENDS));
      expect(await mpc2.next()).toBe(JSON.stringify(REAL_MPC_RECEIVES));
    } finally {
      await Promise.all([cli2.close(), mpc2.close()]);
    }
  });
});
