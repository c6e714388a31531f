import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Level, type LevelDb } from './level.js';

/**
 * Written next to the LevelDB folder when the store closes cleanly: every LevelDB file with its
 * size and hash, and the number of table items. LevelDB itself cannot tell a log cut in half
 * from a crash in the middle of a write (it drops the torn tail without a word, even with
 * paranoid checks), so after a clean stop the relay compares the files with what it left.
 */
export const SEAL_FILE = 'store-seal.json';

interface Seal {
  version: 1;
  sealedAt: string;
  items: number;
  files: Record<string, { size: number; sha256: string }>;
}

/** The store cannot be used as it is: `reason` is one line for the user. */
export class StoreRefused extends Error {
  override name = 'StoreRefused';
  constructor(
    readonly reason: string,
    /** Damage a `--repair` may fix; otherwise a permission or space problem. */
    readonly repairable: boolean,
  ) {
    super(reason);
  }
}

/** Files LevelDB writes that are not data: its info log, its lock, the files repair set aside. */
const NOT_DATA = new Set(['LOG', 'LOG.old', 'LOCK', 'lost']);

function dataFiles(levelDir: string): string[] {
  if (!existsSync(levelDir)) return [];
  return readdirSync(levelDir)
    .filter((name) => !NOT_DATA.has(name))
    .sort();
}

function kindOf(name: string): string {
  if (name === 'CURRENT') return 'CURRENT';
  if (name.startsWith('MANIFEST-')) return `manifest ${name}`;
  if (name.endsWith('.log')) return `log file ${name}`;
  if (name.endsWith('.ldb') || name.endsWith('.sst')) return `table file ${name}`;
  return `file ${name}`;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function damaged(dataDir: string, levelDir: string, what: string): StoreRefused {
  return new StoreRefused(
    `store folder ${levelDir} is damaged: ${what}; waiting messages would be lost. Recover with --repair (LevelDB's repair, then a report of what it could not keep), or start fresh by moving ${dataDir} away`,
    true,
  );
}

/** Compares the folder with the seal of the last clean stop; the first difference, if any. */
function sealDifference(levelDir: string, seal: Seal): string | undefined {
  const present = new Set(dataFiles(levelDir));
  for (const [name, sealed] of Object.entries(seal.files)) {
    const kind = kindOf(name);
    if (!present.has(name)) return `${kind} is missing`;
    const size = statSync(join(levelDir, name)).size;
    if (name === 'CURRENT' && size === 0) return 'CURRENT is empty';
    if (size < sealed.size) return `${kind} was cut (${size} of its ${sealed.size} bytes left)`;
    if (size !== sealed.size) return `${kind} changed size (${sealed.size} -> ${size} bytes)`;
    if (sha256(join(levelDir, name)) !== sealed.sha256) return `${kind} changed since the relay stopped`;
  }
  return undefined;
}

function readSeal(dataDir: string): Seal | undefined {
  try {
    const seal = JSON.parse(readFileSync(join(dataDir, SEAL_FILE), 'utf8')) as Seal;
    return seal.version === 1 && seal.files ? seal : undefined;
  } catch {
    return undefined;
  }
}

/** Lines LevelDB wrote to its info log while opening or repairing: what it dropped. */
function droppedLines(levelDir: string): string[] {
  let log: string;
  try {
    log = readFileSync(join(levelDir, 'LOG'), 'utf8');
  } catch {
    return [];
  }
  return log
    .split('\n')
    .filter((line) => /dropping|ignoring error|corrupt|lost/i.test(line))
    .map((line) => line.replace(/^\S+ \S+ /, '').trim());
}

/** LevelDB's own messages, turned into what is wrong. */
function openFailure(dataDir: string, levelDir: string, error: unknown): StoreRefused {
  const cause = (error as { cause?: unknown }).cause;
  const message = [error, cause]
    .map((e) => (e instanceof Error ? e.message : e ? String(e) : ''))
    .filter(Boolean)
    .join(': ');
  if (/No space left/i.test(message)) {
    return new StoreRefused(
      `store folder ${levelDir} cannot be opened: the disk is full (${message})`,
      false,
    );
  }
  if (/Permission denied|EACCES|EPERM|Read-only file system|EROFS/i.test(message))
    return unwritable(levelDir, message);
  if (/CURRENT/.test(message))
    return damaged(dataDir, levelDir, `CURRENT is empty or damaged (LevelDB: ${message})`);
  return damaged(dataDir, levelDir, `LevelDB cannot open it (${message})`);
}

function unwritable(levelDir: string, cause: string): StoreRefused {
  return new StoreRefused(
    `store folder ${levelDir} is not writable (${cause}); give this user write access to it or pick another --data-dir`,
    false,
  );
}

export async function countItems(db: LevelDb): Promise<number> {
  let items = 0;
  // Table items: dynalite keeps them under `item-<table>~`; indexes and table metadata elsewhere.
  for await (const key of db.keys({ gte: 'item-', lt: 'item.' })) {
    if (key) items++;
  }
  return items;
}

/** Reads every entry: a table file that lost blocks fails here rather than on a later Query. */
async function readEverything(db: LevelDb): Promise<void> {
  const it = db.keys({ fillCache: false });
  for await (const _ of it) {
    // reading is the check
  }
}

/**
 * The store process of a relay that was killed closes LevelDB on its own a moment later (it
 * notices its parent is gone); until then LevelDB's LOCK is taken.
 */
async function openWhenFree(levelDir: string, waitMs = 15_000): Promise<LevelDb> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const db = new Level(levelDir, { createIfMissing: false, errorIfExists: false });
    try {
      await db.open();
      return db;
    } catch (error) {
      const cause = (error as { cause?: Error }).cause?.message ?? '';
      if (!/lock/i.test(cause) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export interface StoreCheck {
  fresh: boolean;
  items: number;
}

/**
 * Before the store serves: refuses (StoreRefused, one line) a folder it cannot write, a folder
 * that differs from the seal of the last clean stop, a folder LevelDB cannot open, reports
 * corruption for or cannot read through. A folder without a seal (the relay was killed) is
 * opened as LevelDB recovers it, which is what a crash leaves.
 */
export async function checkStore(dataDir: string, levelDir: string): Promise<StoreCheck> {
  const files = dataFiles(levelDir);
  try {
    mkdirSync(levelDir, { recursive: true, mode: 0o700 });
    accessSync(levelDir, constants.W_OK);
    const probe = join(levelDir, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    if (code === 'ENOSPC')
      throw new StoreRefused(`store folder ${levelDir} cannot be opened: the disk is full (ENOSPC)`, false);
    throw unwritable(levelDir, code);
  }
  if (files.length === 0) return { fresh: true, items: 0 };
  const seal = readSeal(dataDir);
  if (seal) {
    const difference = sealDifference(levelDir, seal);
    if (difference) throw damaged(dataDir, levelDir, difference);
  }
  if (!files.includes('CURRENT')) throw damaged(dataDir, levelDir, 'CURRENT is missing');
  if (statSync(join(levelDir, 'CURRENT')).size === 0) throw damaged(dataDir, levelDir, 'CURRENT is empty');
  const db = await openWhenFree(levelDir).catch((error: unknown) => {
    throw openFailure(dataDir, levelDir, error);
  });
  try {
    const dropped = droppedLines(levelDir);
    if (dropped.length > 0)
      throw damaged(dataDir, levelDir, `LevelDB dropped data while opening it (${dropped[0]})`);
    try {
      await readEverything(db);
    } catch (error) {
      throw damaged(dataDir, levelDir, `LevelDB cannot read it (${(error as Error).message})`);
    }
    const items = await countItems(db);
    if (seal && items !== seal.items) {
      throw damaged(dataDir, levelDir, `${items} items where the relay left ${seal.items}`);
    }
    return { fresh: false, items };
  } finally {
    await db.close().catch(() => {});
    // The seal describes a closed store: from now on the files change.
    rmSync(join(dataDir, SEAL_FILE), { force: true });
  }
}

/** After a clean close: seals the files as they are now, with the items counted before the close. */
export function sealStore(dataDir: string, levelDir: string, items: number): void {
  const files: Seal['files'] = {};
  for (const name of dataFiles(levelDir)) {
    const path = join(levelDir, name);
    if (!statSync(path).isFile()) continue;
    files[name] = { size: statSync(path).size, sha256: sha256(path) };
  }
  const seal: Seal = { version: 1, sealedAt: new Date().toISOString(), items, files };
  writeFileSync(join(dataDir, SEAL_FILE), `${JSON.stringify(seal, null, 1)}\n`, { mode: 0o600 });
}

export interface RepairReport {
  levelDir: string;
  items: number;
  /** Items in the seal of the last clean stop, when there is one. */
  sealedItems?: number;
  /** What LevelDB's repair wrote about data it dropped. */
  dropped: string[];
  /** Files repair could not use, moved to `<levelDir>/lost`. */
  lostFiles: string[];
}

/** LevelDB's repair (RepairDB: rebuilds the manifest from every readable table and log). */
export async function repairStore(dataDir: string, levelDir: string): Promise<RepairReport> {
  const seal = readSeal(dataDir);
  await Level.repair(levelDir);
  const dropped = droppedLines(levelDir);
  const lostDir = join(levelDir, 'lost');
  const lostFiles = existsSync(lostDir) ? readdirSync(lostDir) : [];
  const db = new Level(levelDir, { createIfMissing: false, errorIfExists: false });
  await db.open();
  let items: number;
  try {
    items = await countItems(db);
  } finally {
    await db.close();
  }
  rmSync(join(dataDir, SEAL_FILE), { force: true });
  return { levelDir, items, ...(seal ? { sealedItems: seal.items } : {}), dropped, lostFiles };
}

/** The repair in a few lines for the user. */
export function describeRepair(report: RepairReport): string[] {
  const lines = [`repaired ${report.levelDir}: ${report.items} items kept`];
  if (report.sealedItems !== undefined) {
    const lost = report.sealedItems - report.items;
    lines.push(
      lost > 0
        ? `  could not keep ${lost} of the ${report.sealedItems} items the relay left at its last clean stop`
        : `  every one of the ${report.sealedItems} items the relay left at its last clean stop is there`,
    );
  } else lines.push('  no record of the last clean stop: the number of lost items is unknown');
  for (const line of report.dropped.slice(0, 5)) lines.push(`  LevelDB: ${line}`);
  if (report.lostFiles.length > 0)
    lines.push(
      `  unreadable files moved to ${join(report.levelDir, 'lost')}: ${report.lostFiles.join(', ')}`,
    );
  return lines;
}
