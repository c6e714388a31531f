/**
 * A damaged data folder is refused with one line naming the folder, what is wrong and how to
 * recover, never opened silently with lost messages: one test per kind of damage, each after a
 * clean stop with messages waiting, then `repair` reporting what it kept.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Relay, startRelay, UserError } from '../src/index.js';
import { Peer, tempDir } from './helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const WAITING = 12;

/** A relay with WAITING messages in the inbox of an offline cli, stopped cleanly. */
async function folderWithWaitingMessages(compact = false): Promise<string> {
  const dataDir = tempDir('relay-integrity-');
  dirs.push(dataDir);
  const relay = await startRelay({ port: 0, dataDir });
  try {
    const mpc = await Peer.open(relay.url, 'type=mpc&mpcId=mpc-a');
    for (let i = 0; i < WAITING; i++) {
      mpc.send({
        action: 'sendServer',
        sourceId: 'mpc-a',
        cliToMpc: { 'cli-a': 'mpc-a' },
        operationType: 'PartialSig',
        message: { accountHash: 'h', teamId: 'team', transactionId: `tx-${i}`, partialSig: 'p'.repeat(200) },
      });
      // One connection's frames are handled in order: the pong says the send was stored.
      mpc.send({ action: 'ping' });
      const pong = await mpc.next(60_000);
      expect(pong).toMatch(/^\{"pong":/);
    }
    mpc.close();
    if (compact) await relay.store.compact();
  } finally {
    await relay.close();
  }
  return dataDir;
}

function levelFile(dataDir: string, test: (name: string) => boolean): string {
  const levelDir = join(dataDir, 'dynamodb');
  const name = readdirSync(levelDir)
    .filter(test)
    .sort((a, b) => statSync(join(levelDir, b)).size - statSync(join(levelDir, a)).size)[0];
  if (!name) throw new Error(`no such file in ${levelDir}: ${readdirSync(levelDir).join(', ')}`);
  return join(levelDir, name);
}

function cut(path: string): void {
  truncateSync(path, Math.floor(statSync(path).size / 2));
}

async function refusal(dataDir: string): Promise<string> {
  const error = await startRelay({ port: 0, dataDir }).then(
    async (relay) => {
      await relay.close();
      throw new Error('the relay started on a damaged folder');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  const message = (error as Error).message;
  expect(message).not.toContain('\n');
  expect(message).toContain(join(dataDir, 'dynamodb'));
  return message;
}

/** Repairs, then drains the cli's inbox: how many of the waiting messages are still there. */
async function repairAndDrain(dataDir: string): Promise<{ lines: string[]; delivered: number }> {
  const lines: string[] = [];
  const relay: Relay = await startRelay({ port: 0, dataDir, repair: true, log: (line) => lines.push(line) });
  try {
    const cli = await Peer.open(relay.url, 'type=cli&cliId=cli-a');
    cli.send({ action: 'getConnectionId' });
    cli.send({ action: 'ping' });
    let delivered = 0;
    for (;;) {
      const frame = await cli.next(60_000);
      if (frame.startsWith('{"pong":')) break;
      if (frame.includes('"PartialSig"')) delivered++;
    }
    cli.close();
    return { lines, delivered };
  } finally {
    await relay.close();
  }
}

describe('damaged store folder', { timeout: 300_000 }, () => {
  it('a log cut in half: refused, and --repair reports the items it could not keep', async () => {
    const dataDir = await folderWithWaitingMessages();
    cut(levelFile(dataDir, (name) => name.endsWith('.log')));
    const message = await refusal(dataDir);
    expect(message).toMatch(/is damaged: log file \d+\.log was cut \(\d+ of its \d+ bytes left\)/);
    expect(message).toMatch(/--repair .* or start fresh by moving/);
    const { lines, delivered } = await repairAndDrain(dataDir);
    expect(lines[0]).toMatch(/^repaired .*dynamodb: \d+ items kept$/);
    expect(delivered).toBeLessThan(WAITING);
    expect(lines.join('\n')).toMatch(
      /could not keep \d+ of the \d+ items the relay left at its last clean stop/,
    );
  });

  it('a table file cut: refused', async () => {
    const dataDir = await folderWithWaitingMessages(true);
    cut(levelFile(dataDir, (name) => name.endsWith('.ldb')));
    expect(await refusal(dataDir)).toMatch(/is damaged: table file \d+\.ldb was cut/);
    const { lines } = await repairAndDrain(dataDir);
    expect(lines[0]).toMatch(/^repaired /);
  });

  it('a MANIFEST cut: refused', async () => {
    const dataDir = await folderWithWaitingMessages(true);
    cut(levelFile(dataDir, (name) => name.startsWith('MANIFEST-')));
    expect(await refusal(dataDir)).toMatch(/is damaged: manifest MANIFEST-\d+ was cut/);
    // LevelDB's repair rebuilds the manifest from the table files: nothing is lost.
    const { lines, delivered } = await repairAndDrain(dataDir);
    expect(delivered).toBe(WAITING);
    expect(lines.join('\n')).toMatch(/every one of the \d+ items/);
  });

  it('CURRENT emptied: refused, also without the seal of a clean stop', async () => {
    const dataDir = await folderWithWaitingMessages();
    writeFileSync(
      levelFile(dataDir, (name) => name === 'CURRENT'),
      '',
    );
    expect(await refusal(dataDir)).toMatch(/is damaged: CURRENT is empty/);
    rmSync(join(dataDir, 'store-seal.json'));
    expect(await refusal(dataDir)).toMatch(/is damaged: CURRENT is empty/);
    const { delivered } = await repairAndDrain(dataDir);
    expect(delivered).toBe(WAITING);
  });

  it('an unwritable store folder: refused with how to fix it', async () => {
    const dataDir = await folderWithWaitingMessages();
    const levelDir = join(dataDir, 'dynamodb');
    const root = process.getuid?.() === 0;
    if (root) {
      // root writes through file modes: a read-only bind mount is what stops it.
      execFileSync('mount', ['--bind', levelDir, levelDir]);
      execFileSync('mount', ['-o', 'remount,bind,ro', levelDir]);
    } else chmodSync(levelDir, 0o500);
    try {
      const message = await refusal(dataDir);
      expect(message).toMatch(
        /store folder .*dynamodb is not writable \((EROFS|EACCES)\); give this user write access/,
      );
    } finally {
      if (root) execFileSync('umount', [levelDir]);
      else chmodSync(levelDir, 0o700);
    }
    // Writable again: it starts, every message still there.
    expect(readFileSync(join(dataDir, 'store-seal.json'), 'utf8')).toMatch(/"items": \d+/);
    const { delivered } = await repairAndDrain(dataDir);
    expect(delivered).toBe(WAITING);
  });
});
