import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Relay, startRelay } from '../src/index.js';
import { JWT_SECRET_ENV, loadOrCreateJwtSecret, signToken } from '../src/jwt-secret.js';
import {
  fullSig,
  Peer,
  partialSig,
  printedToken,
  RelayProcess,
  tempDir,
  tokenCommand,
  waitFor,
} from './helpers.js';

// The local relay in jwt mode with tenant isolation, over real WebSocket connections: every
// stolen-identity attempt is refused with the right answer and nothing reaches the would-be victim.
// "Nothing" is proven by ordering, not by waiting: after each refusal a legitimate control message
// is sent to the same receiver, and it must be the very next frame that receiver gets.

describe('local relay, --auth jwt with TENANT_ISOLATION=on', () => {
  let dataDir: string;
  let relay: Relay;
  let secret: string;
  const peers: Peer[] = [];
  const token = (type: 'cli' | 'mpc', id: string, teams: string[], ttlSeconds = 600, now?: number) =>
    signToken(secret, { type, id, ttlSeconds, teams, ...(now !== undefined ? { now } : {}) });
  async function open(query: string, headers: Record<string, string>): Promise<Peer> {
    const peer = await Peer.open(relay.url, query, headers);
    peers.push(peer);
    return peer;
  }
  const bearer = (value: string) => ({ Authorization: `Bearer ${value}` });
  async function errorCode(peer: Peer): Promise<string> {
    return (JSON.parse(await peer.next()) as { error: { code: string } }).error.code;
  }

  let cli: Peer;
  let mpc: Peer;
  beforeAll(async () => {
    dataDir = tempDir('mpc-relay-jwt-');
    relay = await startRelay({ port: 0, dataDir, authMode: 'jwt', env: { TENANT_ISOLATION: 'on' } });
    expect(relay.jwtSecretSource).toBe(join(dataDir, 'jwt-secret'));
    secret = loadOrCreateJwtSecret(dataDir, {}).secret;

    // The cli's token comes from the token command itself, as a user would mint it.
    const minted = tokenCommand([
      '--type',
      'cli',
      '--id',
      'cli123',
      '--ttl',
      '10m',
      '--data-dir',
      dataDir,
      '--teams',
      'team-a',
    ]);
    expect(minted.status).toBe(0);
    const cliToken = printedToken(minted);
    cli = await open('type=cli&cliId=cli123', bearer(cliToken));
    // The mpc passes its token in the query string (clients that cannot set headers).
    mpc = await open(`type=mpc&mpcId=IgniterC56D&token=${token('mpc', 'IgniterC56D', ['team-a'])}`, {});
  });
  afterAll(async () => {
    for (const peer of peers) peer.close();
    await relay?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** The next frame `receiver` gets is `control`, sent now by a legitimate peer: nothing came before. */
  async function provesNothingDelivered(receiver: 'cli' | 'mpc', transactionId: string) {
    if (receiver === 'cli') mpc.send(partialSig('IgniterC56D', 'cli123', transactionId));
    else {
      // A reply goes to the conversation of its transaction: the mpc asks first.
      mpc.send(partialSig('IgniterC56D', 'cli123', transactionId));
      expect(JSON.parse(await cli.next())).toMatchObject({ message: { transactionId } });
      cli.send(fullSig('cli123', transactionId));
    }
    const frame = JSON.parse(await (receiver === 'cli' ? cli : mpc).next());
    expect(frame).toMatchObject({
      from: receiver === 'cli' ? 'IgniterC56D' : 'cli123',
      message: { transactionId },
    });
  }

  it('the Real Interaction Example works with tokens (header for the cli, query string for the mpc)', async () => {
    mpc.send(partialSig('IgniterC56D', 'cli123', 'tx-1'));
    expect(JSON.parse(await cli.next())).toEqual({
      operationType: 'PartialSig',
      from: 'IgniterC56D',
      message: partialSig('IgniterC56D', 'cli123', 'tx-1').message,
    });
    cli.send(fullSig('cli123', 'tx-1'));
    expect(JSON.parse(await mpc.next())).toMatchObject({
      operationType: 'FullSig',
      from: 'cli123',
      to: 'IgniterC56D',
    });
  });

  it('refuses the handshake without a token (401), with an expired or forged one (403)', async () => {
    await expect(open('type=cli&cliId=cli123', {})).rejects.toThrow('HTTP 401');
    await expect(open('type=cli&cliId=cli123', { Authorization: 'Allow' })).rejects.toThrow('HTTP 403');
    const expired = token('cli', 'cli123', ['team-a'], 60, Math.floor(Date.now() / 1000) - 3600);
    await expect(open('type=cli&cliId=cli123', bearer(expired))).rejects.toThrow('HTTP 403');
    const forged = signToken('f'.repeat(43), {
      type: 'cli',
      id: 'cli123',
      ttlSeconds: 600,
      teams: ['team-a'],
    });
    await expect(open('type=cli&cliId=cli123', bearer(forged))).rejects.toThrow('HTTP 403');
  });

  it("stolen identity: connecting as another peer with someone else's token is refused (403)", async () => {
    const mallory = token('cli', 'mallory', ['team-a']);
    await expect(open('type=cli&cliId=cli123', bearer(mallory))).rejects.toThrow('HTTP 403');
    await expect(open(`type=mpc&mpcId=IgniterC56D&token=${mallory}`, {})).rejects.toThrow('HTTP 403');
    const cliTokenAsMpc = token('cli', 'cli123', ['team-a']);
    await expect(open('type=mpc&mpcId=cli123', bearer(cliTokenAsMpc))).rejects.toThrow('HTTP 403');
    await provesNothingDelivered('cli', 'control-identity');
  });

  it('spoofed sourceId: SPOOFED_SOURCE, nothing delivered to the cli', async () => {
    const mallory = await open('type=mpc&mpcId=Mallory', bearer(token('mpc', 'Mallory', ['team-a'])));
    mallory.send(partialSig('IgniterC56D', 'cli123', 'tx-spoof'));
    expect(await errorCode(mallory)).toBe('SPOOFED_SOURCE');
    await provesNothingDelivered('cli', 'control-spoof');
    // The cli's answer still goes to the mpc that really contacted it, not to Mallory.
    await provesNothingDelivered('mpc', 'control-spoof-answer');
    expect(mallory.messages).toEqual([]);
  });

  it('a cli answering an mpc that never asked: NO_MAPPING, nothing delivered', async () => {
    const lonely = await open('type=cli&cliId=lonely', bearer(token('cli', 'lonely', ['team-a'])));
    lonely.send(fullSig('lonely', 'tx-unasked'));
    expect(await errorCode(lonely)).toBe('NO_MAPPING');
    await provesNothingDelivered('mpc', 'control-unasked');
  });

  it('cross-team: an mpc of another team cannot reach the cli (FORBIDDEN), nor claim its teamId', async () => {
    const foreign = await open('type=mpc&mpcId=Foreign1', bearer(token('mpc', 'Foreign1', ['team-x'])));
    foreign.send(partialSig('Foreign1', 'cli123', 'tx-cross', 'team-x'));
    expect(await errorCode(foreign)).toBe('FORBIDDEN');
    foreign.send(partialSig('Foreign1', 'cli123', 'tx-claim', 'team-a'));
    expect(await errorCode(foreign)).toBe('FORBIDDEN');
    await provesNothingDelivered('cli', 'control-cross');
    // and its attempt did not redirect the cli's answers
    await provesNothingDelivered('mpc', 'control-cross-answer');
    expect(foreign.messages).toEqual([]);
  });
});

describe('local relay, --auth jwt: a token that expires while connected', () => {
  let dataDir: string;
  let relay: Relay;
  const peers: Peer[] = [];
  afterAll(async () => {
    for (const peer of peers) peer.close();
    await relay?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('the next frame gets TOKEN_EXPIRED, then the relay closes the connection; nothing is delivered', async () => {
    dataDir = tempDir('mpc-relay-jwt-exp-');
    // No clock-skew tolerance, so a 2 s token expires 2 s later (the default 30 s would apply too).
    relay = await startRelay({ port: 0, dataDir, authMode: 'jwt', env: { JWT_CLOCK_SKEW_SECONDS: '0' } });
    const secret = loadOrCreateJwtSecret(dataDir, {}).secret;
    const open = async (type: 'cli' | 'mpc', id: string, ttlSeconds: number) => {
      const value = signToken(secret, { type, id, ttlSeconds });
      const exp = (
        JSON.parse(Buffer.from(value.split('.')[1] ?? '', 'base64url').toString()) as { exp: number }
      ).exp;
      const peer = await Peer.open(relay.url, `type=${type}&${type}Id=${id}`, {
        Authorization: `Bearer ${value}`,
      });
      peers.push(peer);
      return { peer, exp };
    };
    const { peer: cli } = await open('cli', 'cli123', 600);
    const { peer: shortLived, exp } = await open('mpc', 'Shortlived', 2);
    const { peer: control } = await open('mpc', 'Control', 600);

    // Bounded wait until the short-lived token's exp has passed on this clock.
    await waitFor(() => Date.now() >= exp * 1000 + 50, 'the token to expire', 10_000);
    shortLived.send(partialSig('Shortlived', 'cli123', 'tx-late'));
    expect(JSON.parse(await shortLived.next())).toEqual({
      error: {
        code: 'TOKEN_EXPIRED',
        message: expect.stringContaining('reconnect with a fresh token'),
        action: 'sendServer',
      },
    });
    await waitFor(() => shortLived.closed !== undefined, 'the relay to close the connection', 10_000);
    expect(shortLived.messages).toEqual([]);

    // Nothing reached the cli: the next frame it gets is a legitimate control message.
    control.send(partialSig('Control', 'cli123', 'tx-control'));
    expect(JSON.parse(await cli.next())).toMatchObject({
      from: 'Control',
      message: { transactionId: 'tx-control' },
    });
    // The expired token cannot come back either (403 at the handshake).
    const again = signToken(secret, { type: 'mpc', id: 'Shortlived', ttlSeconds: 60, now: exp - 60 });
    await expect(
      Peer.open(relay.url, 'type=mpc&mpcId=Shortlived', { Authorization: `Bearer ${again}` }),
    ).rejects.toThrow('HTTP 403');
  });
});

describe('the relay command with --auth jwt (a real process)', () => {
  let relayProcess: RelayProcess | undefined;
  let dataDir: string;
  afterAll(async () => {
    relayProcess?.kill();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the data folder secret, says how to mint a token, and accepts the minted token', async () => {
    dataDir = tempDir('mpc-relay-jwt-cmd-');
    relayProcess = RelayProcess.start('main', ['--', '--port', '0', '--auth', 'jwt', '--data-dir', dataDir], {
      [JWT_SECRET_ENV]: '',
    });
    const url = await relayProcess.ready();
    expect(relayProcess.stdout).toContain(`Auth        jwt (HS256 secret: ${join(dataDir, 'jwt-secret')})`);
    expect(relayProcess.stdout).toContain(
      `pnpm -s run token --type cli --id cli123 --ttl 1h --data-dir '${dataDir}'`,
    );
    const minted = tokenCommand(['--type', 'cli', '--id', 'cli123', '--data-dir', dataDir]);
    const mintedToken = printedToken(minted);
    const peer = await Peer.open(url, 'type=cli&cliId=cli123', { Authorization: `Bearer ${mintedToken}` });
    peer.send({ action: 'getConnectionId' });
    expect(JSON.parse(await peer.next())).toHaveProperty('connectionId');
    peer.close();
    await expect(
      Peer.open(url, 'type=cli&cliId=someone', { Authorization: `Bearer ${mintedToken}` }),
    ).rejects.toThrow('HTTP 403');
    expect(relayProcess.stdout + relayProcess.stderr).not.toContain(mintedToken);
    relayProcess.child.kill('SIGTERM');
    expect(await relayProcess.exited()).toBe(0);
  });
});
