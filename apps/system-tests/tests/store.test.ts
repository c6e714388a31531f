/**
 * The embedded store (dynalite on LevelDB in its own supervised process): no iterator leak, a
 * fault inside it or an aborted request never takes the relay down, a full disk refuses writes
 * with INTERNAL and recovers when space returns, table files are reclaimed while it runs, and a
 * damaged folder is refused by the command with one line.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statfsSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { type Relay, startRelay } from '@mpc-relay/relay';
import { partialSig } from '@mpc-relay/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { pairReport, settlePairs } from './helpers/pairs.js';
import { RelayProcess } from './helpers/relay-process.js';
import { V1Pair, V1Peer } from './helpers/v1-client.js';
import { removeTempDirs, tempDir, waitFor } from './helpers/wait.js';

const relays: Relay[] = [];
const mounts: string[] = [];
afterAll(async () => {
  await Promise.allSettled(relays.map((relay) => relay.close()));
  for (const mount of mounts) {
    try {
      execFileSync('umount', [mount]);
    } catch {
      // already gone
    }
  }
  removeTempDirs();
});

async function relayWithLog(dataDir = tempDir('store-')): Promise<{ relay: Relay; lines: string[] }> {
  const lines: string[] = [];
  // The handlers' own error logs (JSON, one per INTERNAL) would bury the test's output.
  const relay = await startRelay({
    port: 0,
    dataDir,
    log: (line) => lines.push(line),
    env: { LOG_LEVEL: 'CRITICAL' },
  });
  relays.push(relay);
  return { relay, lines };
}

function dynamoClient(relay: Relay): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: relay.dynamoEndpoint,
    region: 'us-east-1',
    credentials: relay.credentials,
  });
}

const storeLines = (lines: string[]) => lines.filter((line) => /^(store|repaired)/.test(line));

describe('store', { timeout: 600_000 }, () => {
  it('10,000 Queries leave no LevelDB iterator open', async () => {
    const { relay } = await relayWithLog();
    const client = dynamoClient(relay);
    await client.send(
      new PutItemCommand({
        TableName: relay.tableName,
        Item: { pk: { S: 'soak' }, sk: { S: 'item' }, body: { S: 'x' } },
      }),
    );
    const QUERIES = 10_000;
    let next = 0;
    let found = 0;
    // Eight at a time, as eight handler environments would.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < QUERIES) {
          const i = next++;
          const answer = await client.send(
            new QueryCommand({
              TableName: relay.tableName,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': { S: i % 2 === 0 ? 'soak' : `absent-${i}` } },
            }),
          );
          found += answer.Count ?? 0;
        }
      }),
    );
    client.destroy();
    expect(found).toBe(QUERIES / 2);
    const stats = await relay.store.stats();
    expect(stats.requests).toBeGreaterThanOrEqual(QUERIES);
    expect(stats.openIterators).toBe(0);
    console.log(
      `10,000 Queries: ${stats.openIterators} iterators open, store RSS ${(stats.rssBytes / 2 ** 20).toFixed(0)} MB`,
    );
  });

  it('a fault inside the store process: restarted on the same folder, every connection kept, nothing lost', async () => {
    const { relay, lines } = await relayWithLog();
    const pairs = ['fault-a', 'fault-b'].map((name) => new V1Pair(() => relay.url, name));
    await Promise.all(pairs.map((pair) => pair.connect()));
    const before = relay.store.supervisor.pid;
    for (let i = 0; i < 5; i++)
      await Promise.all(pairs.map((pair) => pair.send(`${pair.mpc.peer.id}-before-${i}`)));
    relay.store.supervisor.crash('a fault inside dynalite');
    // Sends go on while the store process is down and restarting: refused as INTERNAL, sent again.
    for (let i = 0; i < 5; i++)
      await Promise.all(pairs.map((pair) => pair.send(`${pair.mpc.peer.id}-after-${i}`)));
    await relay.store.supervisor.ready();
    expect(await settlePairs(pairs)).toBe(true);
    const report = pairReport(pairs);
    console.log('store fault', report);
    expect(report.missingAtCli + report.missingAtMpc).toBe(0);
    // No connection was dropped: the gateway never noticed.
    expect(report.reconnects).toBe(0);
    expect(relay.store.supervisor.pid).not.toBe(before);
    expect(relay.store.supervisor.restarts).toBe(1);
    const faults = storeLines(lines);
    expect(faults).toHaveLength(2);
    expect(faults[0]).toMatch(/^store fault in .*dynamodb: a fault inside dynalite$/);
    expect(faults[1]).toMatch(
      /^store process for .*dynamodb ended \(a fault inside dynalite\); restarting it on the same folder$/,
    );
    await Promise.all(pairs.map((pair) => pair.stop()));
  });

  it('an aborted request on the store port is dropped, the store keeps serving', async () => {
    const { relay, lines } = await relayWithLog();
    const pid = relay.store.supervisor.pid;
    const { port } = new URL(relay.dynamoEndpoint);
    // The store's port the handlers use: the store process serves its connections.
    const targets: (() => Socket)[] = [() => connect(Number(port), '127.0.0.1')];
    for (const open of targets) {
      await new Promise<void>((resolve, reject) => {
        const socket = open();
        socket.on('connect', () => {
          socket.write(
            'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.Query\r\nContent-Length: 1000\r\n\r\n{"TableName":',
          );
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 100);
        });
        socket.on('error', reject);
      });
    }
    const pair = new V1Pair(() => relay.url, 'after-abort');
    await pair.connect();
    await pair.send('after-abort-1');
    expect(await settlePairs([pair])).toBe(true);
    expect(relay.store.supervisor.pid).toBe(pid);
    expect(relay.store.supervisor.restarts).toBe(0);
    expect(storeLines(lines)).toEqual([]);
    await pair.stop();
  });

  it('table files of deleted items are reclaimed without a restart', async () => {
    const { relay } = await relayWithLog();
    const client = dynamoClient(relay);
    const tableBytes = () =>
      readdirSync(relay.store.levelDir)
        .filter((name) => name.endsWith('.ldb'))
        .reduce((sum, name) => sum + statSync(join(relay.store.levelDir, name)).size, 0);
    // Random text: LevelDB compresses its tables, a repeated character would take no room.
    const body = randomBytes(15_000).toString('base64');
    const keys = Array.from({ length: 400 }, (_, i) => ({
      pk: { S: `bulk-${i % 20}` },
      sk: { S: `item-${i}` },
    }));
    for (let i = 0; i < keys.length; i += 25) {
      await client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [relay.tableName]: keys.slice(i, i + 25).map((key) => ({
              PutRequest: { Item: { ...key, body: { S: body } } },
            })),
          },
        }),
      );
    }
    await relay.store.compact();
    const full = tableBytes();
    for (let i = 0; i < keys.length; i += 25) {
      await client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [relay.tableName]: keys.slice(i, i + 25).map((key) => ({ DeleteRequest: { Key: key } })),
          },
        }),
      );
    }
    client.destroy();
    const pid = relay.store.supervisor.pid;
    await relay.store.compact();
    const emptied = tableBytes();
    console.log(
      `table files: ${full} bytes with 400 items of 20 KB, ${emptied} bytes once deleted and compacted`,
    );
    expect(full).toBeGreaterThan(4_000_000);
    expect(emptied).toBeLessThan(full / 20);
    expect(relay.store.supervisor.pid).toBe(pid);
  });
});

/** A 2 MB tmpfs, when this machine lets the test mount one (root, mount allowed). */
function smallDisk(): string | undefined {
  const dir = tempDir('store-disk-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
    mounts.push(dir);
    return dir;
  } catch {
    return undefined;
  }
}

const disk = smallDisk();

describe('a full disk', { timeout: 300_000 }, () => {
  it.skipIf(!disk)(
    'writes refused with INTERNAL (nothing accepted lost), the relay stays up and recovers when space returns (skipped when this machine cannot mount a 2 MB tmpfs)',
    async () => {
      const root = disk as string;
      const { relay, lines } = await relayWithLog(join(root, 'data'));
      // One attempt per send: a refusal is reported, not retried.
      const mpc = new V1Peer(() => relay.url, { type: 'mpc', id: 'mpc-disk' }, { maxSendAttempts: 1 });
      await mpc.connect();
      const free = () => {
        const fs = statfsSync(root);
        return fs.bavail * fs.bsize;
      };
      writeFileSync(join(root, 'filler'), Buffer.alloc(Math.max(0, free() - 300_000)));
      const accepted: string[] = [];
      let refused = 0;
      const send = async (id: string) => {
        try {
          const frame = partialSig('mpc-disk', 'cli-disk', id);
          frame.message.partialSig = 'p'.repeat(8_000);
          await mpc.sendConfirmed(frame);
          accepted.push(id);
        } catch {
          refused++;
        }
      };
      // The cli is offline: every message waits in its inbox on the small disk, until it is full.
      for (let i = 0; i < 300 && refused < 5; i++) await send(`disk-${i}`);
      expect(refused).toBe(5);
      expect(mpc.errorFrames.some((frame) => frame.includes('"INTERNAL"'))).toBe(true);
      expect(
        lines.filter((line) => /^store fault in .*dynamodb: .*No space left on device/.test(line)),
      ).toHaveLength(1);
      rmSync(join(root, 'filler'));
      await waitFor(
        () => lines.some((line) => /takes writes again/.test(line)),
        'the store to take writes again',
        60_000,
      );
      for (let i = 0; i < 5; i++) await send(`disk-after-${i}`);
      expect(accepted.filter((id) => id.startsWith('disk-after-'))).toHaveLength(5);
      const cli = new V1Peer(() => relay.url, { type: 'cli', id: 'cli-disk' });
      await cli.collect();
      await waitFor(() => cli.received.complete(accepted), 'every accepted message at the cli', 60_000);
      console.log(
        `full disk: ${accepted.length} accepted, ${refused} refused INTERNAL; ${relay.store.supervisor.restarts} store restarts; store lines:`,
        storeLines(lines),
      );
      expect(cli.received.missing(accepted)).toEqual([]);
      await Promise.all([cli.stop(), mpc.stop()]);
    },
  );
});

describe('a damaged data folder', { timeout: 300_000 }, () => {
  it('the command refuses it with one line naming the folder, what is wrong and how to recover', async () => {
    const dataDir = tempDir('store-damaged-');
    const { relay } = await relayWithLog(dataDir);
    const pair = new V1Pair(() => relay.url, 'damaged');
    await pair.connect();
    await pair.cli.stop();
    for (let i = 0; i < 20; i++) await pair.send(`damaged-${i}`);
    await pair.mpc.stop();
    await relay.close();
    const levelDir = join(dataDir, 'dynamodb');
    const log = readdirSync(levelDir).find((name) => name.endsWith('.log')) as string;
    truncateSync(join(levelDir, log), Math.floor(statSync(join(levelDir, log)).size / 2));
    const refused = await RelayProcess.start({ port: 0, dataDir, readyTimeoutMs: 90_000 }).then(
      () => {
        throw new Error('started');
      },
      (error: Error) => error.message,
    );
    const line = refused.replace(/^relay exited \(1\): /, '').trimEnd();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(
      new RegExp(
        `^mpc-relay: store folder ${levelDir} is damaged: log file ${log} was cut \\(\\d+ of its \\d+ bytes left\\); waiting messages would be lost\\. Recover with --repair .* or start fresh by moving ${dataDir} away$`,
      ),
    );
  });
});
