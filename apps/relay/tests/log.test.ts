import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FULL_SIG, REAL_MPC_SENDS } from '@mpc-relay/testing';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { handlersPackageDir } from '../src/dev-watch.js';
import { type Relay, startRelay } from '../src/index.js';
import { loadOrCreateJwtSecret, signToken } from '../src/jwt-secret.js';
import { Peer, tempDir, waitFor } from './helpers.js';

// The relay log tells outcomes as they are: delivered / stored / refused with the code / error, with
// the peer on every line it is known (also for frames handled after their connection closed), and
// the authorizer's reasons at the default level, never the token.

const dirs: string[] = [];
const relays: Relay[] = [];
afterAll(async () => {
  await Promise.all(relays.map((r) => r.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function relayWithLog(options: Parameters<typeof startRelay>[0] = {}) {
  const dataDir = tempDir('relay-log-');
  dirs.push(dataDir);
  const lines: string[] = [];
  const relay = await startRelay({ port: 0, dataDir, log: (line) => lines.push(line), ...options });
  relays.push(relay);
  const line = (pattern: RegExp) => waitFor(() => lines.find((l) => pattern.test(l)), `a line ${pattern}`);
  return { relay, lines, line, dataDir };
}

const fullSig = { action: 'sendServer', sourceId: 'cli123', operationType: 'FullSig', message: FULL_SIG };

describe('relay log', () => {
  it('v1: delivered, stored for an offline peer, refused with the code, never payloads', async () => {
    const { relay, lines, line } = await relayWithLog();
    const cli = await Peer.open(relay.url, 'type=cli&cliId=cli123');
    const mpc = await Peer.open(relay.url, 'type=mpc&mpcId=IgniterC56D');
    mpc.send(REAL_MPC_SENDS);
    await cli.next();
    cli.send(fullSig);
    await mpc.next();
    cli.send({ ...fullSig, sourceId: 'someone-else' });
    expect(JSON.parse(await cli.next()).error.code).toBe('SPOOFED_SOURCE');
    mpc.send({ ...REAL_MPC_SENDS, cliToMpc: { cliOffline: 'IgniterC56D' } });
    cli.send('hello');
    expect(JSON.parse(await cli.next()).error.code).toBe('INVALID_JSON');

    await line(/message\s+\S+ mpc:IgniterC56D sendServer PartialSig \d+ B to cli:cli123 delivered \d+ ms/);
    await line(/message\s+\S+ cli:cli123 sendServer FullSig \d+ B to mpc:IgniterC56D delivered \d+ ms/);
    await line(/message\s+\S+ cli:cli123 sendServer FullSig \d+ B refused SPOOFED_SOURCE -> \d+ B \d+ ms/);
    await line(/message\s+\S+ mpc:IgniterC56D sendServer PartialSig \d+ B to cli:cliOffline stored \d+ ms/);
    await line(/message\s+\S+ cli:cli123 \$default 5 B refused INVALID_JSON -> \d+ B/);
    await line(/deliver\s+\S+ cli:cli123 \d+ B 200$/);
    // The offline cli comes back: what waited is delivered at its getConnectionId.
    const late = await Peer.open(relay.url, 'type=cli&cliId=cliOffline');
    late.send({ action: 'getConnectionId' });
    expect(JSON.parse(await late.next())).toMatchObject({ operationType: 'PartialSig' });
    expect(JSON.parse(await late.next())).toHaveProperty('connectionId');
    await line(/deliver\s+\S+ cli:cliOffline \d+ B 200 \(waiting message\)$/);
    await line(/message\s+\S+ cli:cliOffline getConnectionId \d+ B ok -> \d+ B/);
    late.close();
    const text = lines.join('\n');
    // A relayed message always tells what became of it.
    expect(lines.filter((l) => l.includes(' sendServer ')).join('\n')).not.toMatch(/ ok /);
    expect(text).not.toContain('accountHash');
    expect(text).not.toContain('hello');
    cli.close();
    mpc.close();
  });

  it('v2: the ack of a connection that already closed still names its peer', async () => {
    const { relay, line } = await relayWithLog();
    const v2 = await new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`${relay.url}?type=cli&cliId=cli123`, 'mpc-relay.v2', {
        headers: { Authorization: 'Allow' },
      });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
    const received: string[] = [];
    v2.on('message', (data) => received.push(data.toString()));
    const mpc = await Peer.open(relay.url, 'type=mpc&mpcId=IgniterC56D');
    mpc.send({ ...REAL_MPC_SENDS, clientMsgId: 'm-1' });
    expect(JSON.parse(await mpc.next())).toMatchObject({ ack: { clientMsgId: 'm-1', status: 'delivered' } });
    await waitFor(() => received.length > 0, 'the v2 delivery');
    const { messageId } = JSON.parse(received[0]!) as { messageId: string };
    mpc.send({ ...REAL_MPC_SENDS, clientMsgId: 'm-1' });
    expect(JSON.parse(await mpc.next())).toMatchObject({ ack: { clientMsgId: 'm-1', status: 'duplicate' } });
    await line(/message\s+\S+ mpc:IgniterC56D sendServer PartialSig \d+ B to cli:cli123 duplicate -> \d+ B/);
    // The ack is queued behind nothing, the close right after it: its line comes after the disconnect.
    v2.send(JSON.stringify({ action: 'ack', messageIds: [messageId] }));
    v2.close();
    await line(/disconnect\s+\S+ cli:cli123 1005 client/);
    await line(/message\s+\S+ cli:cli123 ack \d+ B ok/);
    await line(/connect\s+\S+ cli:cli123 from 127\.0\.0\.1 \(mpc-relay\.v2\)/);
    mpc.close();
  });

  it('jwt: the authorizer refusal reason is logged at the default level, the token never', async () => {
    const { relay, lines, line, dataDir } = await relayWithLog({ authMode: 'jwt' });
    const { secret } = loadOrCreateJwtSecret(dataDir, {});
    const expired = signToken(secret, {
      type: 'cli',
      id: 'cli123',
      ttlSeconds: 60,
      now: Math.floor(Date.now() / 1000) - 3600,
    });
    await expect(
      Peer.open(relay.url, 'type=cli&cliId=cli123', { Authorization: `Bearer ${expired}` }),
    ).rejects.toThrow('HTTP 403');
    const someoneElse = signToken(secret, { type: 'cli', id: 'cli999', ttlSeconds: 600 });
    await expect(
      Peer.open(relay.url, 'type=cli&cliId=cli123', { Authorization: `Bearer ${someoneElse}` }),
    ).rejects.toThrow('HTTP 403');
    await expect(Peer.open(relay.url, 'type=mpc&mpcId=IgniterC56D', {})).rejects.toThrow('HTTP 401');
    await line(/refused\s+\S+ cli:cli123 403 authorizer denied: token expired/);
    await line(/refused\s+\S+ cli:cli123 403 authorizer denied: identity mismatch/);
    await line(/refused\s+\S+ mpc:IgniterC56D 401 /);
    const text = lines.join('\n');
    expect(text).not.toContain(expired);
    expect(text).not.toContain(someoneElse);
    expect(text).not.toContain(expired.split('.')[2]!);
  });

  it('a handler that fails is logged as an error, not as an outcome', async () => {
    const handlersDir = tempDir('relay-log-handlers-');
    dirs.push(handlersDir);
    cpSync(join(handlersPackageDir(), 'dist'), handlersDir, { recursive: true });
    writeFileSync(
      join(handlersDir, 'sendServer', 'index.mjs'),
      "export const handler = async () => { throw new Error('table unreachable'); };\n",
    );
    const { relay, line } = await relayWithLog({ handlersDir });
    const mpc = await Peer.open(relay.url, 'type=mpc&mpcId=IgniterC56D');
    mpc.send(REAL_MPC_SENDS);
    expect(JSON.parse(await mpc.next())).toMatchObject({ message: 'Internal server error' });
    await line(
      /message\s+\S+ mpc:IgniterC56D sendServer PartialSig \d+ B to cli:cli123 error \(table unreachable\) \d+ ms/,
    );
    mpc.close();
  });
});
