import { ErrorCode, type PeerIdentity } from '@mpc-relay/protocol';
import { describe, expect, it } from 'vitest';
import { KEY } from '../src/store/keys.js';
import { countRequests } from '../src/store/request-counter.js';
import { expectErrorFrame, fullSig, partialSig } from './helpers/frames.js';
import { TEST_SECRET, useJwtHarness } from './helpers/jwt.js';

// TENANT_ISOLATION=on with jwt tokens carrying `teams`: the authorizer puts them in the context,
// $connect stores them on the connection item, sendServer and the inbox drain enforce them.

const ENV = { AUTH_MODE: 'jwt', JWT_SECRET: TEST_SECRET, TENANT_ISOLATION: 'on' };

const withTeam = <T extends { message: Record<string, unknown> }>(frame: T, teamId: string): T => ({
  ...frame,
  message: { ...frame.message, teamId },
});

describe('tenant isolation (TENANT_ISOLATION=on, jwt teams)', () => {
  const { harness, connect: connectWithClaims } = useJwtHarness(ENV);
  const connect = (peer: PeerIdentity, teams?: string[]) => connectWithClaims(peer, teams ? { teams } : {});
  const cli = (id = 'cli123') => ({ type: 'cli', id }) as const;
  const mpc = (id = 'IgniterC56D') => ({ type: 'mpc', id }) as const;

  it('$connect stores the peer teams on the connection item', async () => {
    const client = await connect(cli(), ['team-a', 'team-b']);
    expect(client.context).toMatchObject({ teams: 'team-a,team-b' });
    const [item] = await harness.items(KEY.peer(cli()));
    expect(item).toMatchObject({ connectionId: client.connectionId, teams: 'team-a,team-b' });
  });

  it('same team: the Real Interaction Example flows both ways (teamId one of both peers teams)', async () => {
    const signer = await connect(cli(), ['team-a', 'team-b']);
    const node = await connect(mpc(), ['team-a']);
    expect(await node.send(withTeam(partialSig(node.peer.id, signer.peer.id), 'team-a'))).toEqual({
      statusCode: 200,
    });
    expect(JSON.parse(signer.received()[0] ?? '{}')).toMatchObject({
      from: node.peer.id,
      message: { teamId: 'team-a' },
    });
    expect(await signer.send(withTeam(fullSig(signer.peer.id), 'team-a'))).toEqual({ statusCode: 200 });
    expect(JSON.parse(node.received()[0] ?? '{}')).toMatchObject({ from: signer.peer.id, to: node.peer.id });
  });

  it("cross-team: another team's mpc cannot reach a cli (FORBIDDEN), and no mapping is written", async () => {
    const signer = await connect(cli(), ['team-a']);
    const foreign = await connect(mpc('Foreign1'), ['team-x']);
    const answer = await foreign.send(withTeam(partialSig('Foreign1', signer.peer.id), 'team-x'));
    const error = expectErrorFrame(answer, ErrorCode.Forbidden);
    expect(error.message).toMatch(/does not serve team "team-x"/);
    // without a teamId: no shared team
    expectErrorFrame(
      await foreign.send({
        ...partialSig('Foreign1', signer.peer.id),
        operationType: 'Hello',
        message: 'hi',
      }),
      ErrorCode.Forbidden,
    );
    expect(signer.received()).toEqual([]);
    expect(await harness.items(KEY.mapping(signer.peer.id))).toEqual([]);
  });

  it("a foreign mpc cannot take over a cli's mapping: the cli still answers its own team's mpc", async () => {
    const signer = await connect(cli(), ['team-a']);
    const node = await connect(mpc(), ['team-a']);
    const foreign = await connect(mpc('Foreign1'), ['team-x']);
    await node.send(withTeam(partialSig(node.peer.id, signer.peer.id), 'team-a'));
    expectErrorFrame(
      await foreign.send(withTeam(partialSig('Foreign1', signer.peer.id), 'team-x')),
      ErrorCode.Forbidden,
    );
    expect(await signer.send(withTeam(fullSig(signer.peer.id), 'team-a'))).toEqual({ statusCode: 200 });
    expect(node.received()).toHaveLength(1);
    expect(foreign.received()).toEqual([]);
  });

  it('teamId must be one of the sender teams (FORBIDDEN before any DynamoDB request)', async () => {
    const signer = await connect(cli(), ['team-a', 'team-x']);
    const node = await connect(mpc(), ['team-a']);
    const { result, requests } = await countRequests(() =>
      node.send(withTeam(partialSig(node.peer.id, signer.peer.id), 'team-x')),
    );
    const error = expectErrorFrame(result, ErrorCode.Forbidden);
    expect(error.issues).toEqual([{ path: 'message.teamId', message: 'not one of your teams' }]);
    expect(requests.total).toBe(0);
    expect(signer.received()).toEqual([]);
  });

  it('a receiver that shares a team but not the message teamId does not get it', async () => {
    const signer = await connect(cli(), ['team-b']);
    const node = await connect(mpc(), ['team-a', 'team-b']);
    expectErrorFrame(
      await node.send(withTeam(partialSig(node.peer.id, signer.peer.id), 'team-a')),
      ErrorCode.Forbidden,
    );
    expect(await node.send(withTeam(partialSig(node.peer.id, signer.peer.id), 'team-b'))).toEqual({
      statusCode: 200,
    });
    expect(signer.received()).toHaveLength(1);
  });

  it('a peer whose token names no team can send nothing', async () => {
    const signer = await connect(cli(), ['team-a']);
    const node = await connect(mpc());
    expectErrorFrame(await node.send(partialSig(node.peer.id, signer.peer.id)), ErrorCode.Forbidden);
    expect(signer.received()).toEqual([]);
  });

  it('several connections of the target: only those of a shared team receive', async () => {
    const teamA = await connect(cli(), ['team-a']);
    const teamB = await connect(cli(), ['team-b']);
    const node = await connect(mpc(), ['team-a']);
    expect(await node.send(withTeam(partialSig(node.peer.id, 'cli123'), 'team-a'))).toEqual({
      statusCode: 200,
    });
    expect(teamA.received()).toHaveLength(1);
    expect(teamB.received()).toEqual([]);
  });

  it('hot path: 2 DynamoDB requests to the cli (Query then PutItem), 1 for the reply (GetItem)', async () => {
    const signer = await connect(cli(), ['team-a']);
    const node = await connect(mpc(), ['team-a']);
    const toCli = await countRequests(() =>
      node.send(withTeam(partialSig(node.peer.id, signer.peer.id), 'team-a')),
    );
    expect(toCli.result).toEqual({ statusCode: 200 });
    expect(toCli.requests).toEqual({ total: 2, byCommand: { PutItem: 1, Query: 1 } });
    const toMpc = await countRequests(() => signer.send(withTeam(fullSig(signer.peer.id), 'team-a')));
    expect(toMpc.result).toEqual({ statusCode: 200 });
    expect(toMpc.requests).toEqual({ total: 1, byCommand: { GetItem: 1 } });
    const refused = await countRequests(async () => {
      const foreign = await connect(mpc('Foreign1'), ['team-x']);
      return foreign.send(withTeam(partialSig('Foreign1', signer.peer.id), 'team-x'));
    });
    // $connect's Query and PutItem + the Query that found only foreign-team connections; no route written
    expect(refused.requests.byCommand).toEqual({ PutItem: 1, Query: 2 });
  });

  it('offline target, another team: stored with the sender teams, dropped at delivery; its conversation answers no other team', async () => {
    const foreign = await connect(mpc('Foreign1'), ['team-x']);
    expect(await foreign.send(withTeam(partialSig('Foreign1', 'cli123'), 'team-x'))).toEqual({
      statusCode: 200,
    });
    const [stored] = await harness.inbox(KEY.inbox(cli()));
    expect(stored).toMatchObject({ teams: 'team-x', teamId: 'team-x' });
    // Its conversation is recorded with its team; no latest mapping (the message named a key).
    expect(await harness.items(KEY.mapping('cli123'))).toMatchObject([
      { sk: KEY.conversationSort('tx-1'), mpcId: 'Foreign1', teamId: 'team-x' },
    ]);

    const signer = await connect(cli(), ['team-a']);
    const answer = await signer.send({ action: 'getConnectionId' });
    expect(JSON.parse(answer.body ?? '{}')).toEqual({ connectionId: signer.connectionId });
    expect(signer.received()).toEqual([]);
    expect(await harness.inbox(KEY.inbox(cli()))).toEqual([]);
    // A team-a answer under that key is refused: the conversation is team-x's.
    expectErrorFrame(await signer.send(withTeam(fullSig('cli123'), 'team-a')), ErrorCode.Forbidden);
    // And without a key there is no route at all.
    expectErrorFrame(
      await signer.send({ action: 'sendServer', sourceId: 'cli123', operationType: 'Note', message: {} }),
      ErrorCode.NoMapping,
    );
    expect(foreign.received()).toEqual([]);
  });

  it('offline target, same team: delivered when it is back; a keyless latest mapping is written then', async () => {
    const node = await connect(mpc(), ['team-a']);
    await node.send(withTeam(partialSig(node.peer.id, 'cli123'), 'team-a'));
    const note = { action: 'sendServer', sourceId: node.peer.id, cliToMpc: { cli123: node.peer.id } };
    await node.send({ ...note, operationType: 'Note', message: { teamId: 'team-a' } });
    const mapped = async () =>
      (await harness.items(KEY.mapping('cli123'))).filter((item) => item.sk === KEY.mappingSort);
    expect(await mapped()).toEqual([]);
    const signer = await connect(cli(), ['team-a', 'team-c']);
    await signer.send({ action: 'getConnectionId' });
    expect(signer.received()).toHaveLength(2);
    expect(await mapped()).toMatchObject([{ mpcId: node.peer.id }]);
    expect(await signer.send(withTeam(fullSig('cli123'), 'team-a'))).toEqual({ statusCode: 200 });
    expect(node.received()).toHaveLength(1);
  });

  it('offline mpc: a cli answer is kept with its teams and dropped for an mpc of another team', async () => {
    const signer = await connect(cli(), ['team-a']);
    const node = await connect(mpc(), ['team-a']);
    await node.send(withTeam(partialSig(node.peer.id, signer.peer.id), 'team-a'));
    await node.disconnect();
    expect(await signer.send(withTeam(fullSig(signer.peer.id), 'team-a'))).toEqual({ statusCode: 200 });
    expect(await harness.inbox(KEY.inbox(mpc()))).toMatchObject([{ teams: 'team-a', teamId: 'team-a' }]);
    // The same mpc id comes back with a token for another team: it does not get team-a's answer.
    const impostor = await connect(mpc(), ['team-x']);
    await impostor.send({ action: 'getConnectionId' });
    expect(impostor.received()).toEqual([]);
    expect(await harness.inbox(KEY.inbox(mpc()))).toEqual([]);
  });

  it('broadcast with "team" reaches only the connections whose stored teams include it', async () => {
    const cliA = await connect(cli('c-a'), ['team-a', 'team-b']);
    const cliB = await connect(cli('c-b'), ['team-b']);
    const mpcA = await connect(mpc('m-a'), ['team-a']);
    const noTeam = await connect(mpc('m-none'));
    const result = await harness.relay.handlers.broadcast({
      action: 'sendmessage',
      message: 'Hello from CLI!',
      team: 'team-a',
    } as never);
    expect(result).toEqual({ sent: 2, stale: 0, failed: 0 });
    const expected = JSON.stringify({
      operationType: 'broadcast',
      from: 'relay',
      message: 'Hello from CLI!',
    });
    expect(cliA.received()).toEqual([expected]);
    expect(mpcA.received()).toEqual([expected]);
    expect(cliB.received()).toEqual([]);
    expect(noTeam.received()).toEqual([]);
    // with a type too; a team nobody serves sends nothing
    expect(await harness.relay.handlers.broadcast({ type: 'cli', team: 'team-b', message: 'b' })).toEqual({
      sent: 2,
      stale: 0,
      failed: 0,
    });
    expect(mpcA.received()).toHaveLength(1);
    expect(await harness.relay.handlers.broadcast({ team: 'team-z', message: 'z' })).toEqual({
      sent: 0,
      stale: 0,
      failed: 0,
    });
  });
});
