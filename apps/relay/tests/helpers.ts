import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fullSig as v1FullSig, partialSig as v1PartialSig } from '@mpc-relay/testing';
import WebSocket from 'ws';
import { JWT_SECRET_ENV } from '../src/jwt-secret.js';

export const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The team of the relay tests' frames when none is named: the one their tokens carry. */
const TEAM = 'team-a';

/** A v1 PartialSig from an mpc, opening the conversation of `transactionId` with the cli. */
export const partialSig = (mpcId: string, cliId: string, transactionId: string, teamId = TEAM) =>
  v1PartialSig(mpcId, cliId, transactionId, teamId);

/** A v1 FullSig from a cli: the answer in the conversation of `transactionId`. */
export const fullSig = (cliId: string, transactionId: string, teamId = TEAM) =>
  v1FullSig(cliId, transactionId, teamId);

/**
 * The token command (`node dist/token.js`, what `pnpm run token` runs), as a user mints a token:
 * with JWT_SECRET unset, so it signs with the data folder's secret.
 */
export function tokenCommand(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [join(APP_DIR, 'dist', 'token.js'), ...args], {
    cwd: APP_DIR,
    env: { ...process.env, [JWT_SECRET_ENV]: '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** The token a run of the token command printed: alone on the last line of stdout. */
export const printedToken = (run: { stdout: string }) => run.stdout.trim().split('\n').at(-1) ?? '';

export async function waitFor<T>(
  probe: () => T | undefined | false,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A ws client queueing what it receives. */
export class Peer {
  readonly messages: string[] = [];
  closed?: number;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(data.toString()));
    ws.on('close', (code) => {
      this.closed = code;
    });
    ws.on('error', () => {});
  }

  static open(
    url: string,
    query: string,
    headers: Record<string, string> = { Authorization: 'Allow' },
  ): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url}?${query}`, { headers });
      const peer = new Peer(ws);
      ws.once('open', () => resolve(peer));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(data: unknown): void {
    this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  async next(timeoutMs = 15_000): Promise<string> {
    await waitFor(() => this.messages.length > 0, 'a message', timeoutMs);
    return this.messages.shift()!;
  }

  close(): void {
    this.ws.close();
  }
}

/** The relay command as a process, with its output collected. */
export class RelayProcess {
  stdout = '';
  stderr = '';
  exitCode?: number | null;
  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (c: Buffer) => {
      this.stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    child.on('exit', (code) => {
      this.exitCode = code;
    });
  }

  static start(script: 'main' | 'dev', args: string[], env: Record<string, string> = {}): RelayProcess {
    return new RelayProcess(
      spawn(process.execPath, [join(APP_DIR, 'dist', `${script}.js`), ...args], {
        cwd: APP_DIR,
        env: { ...process.env, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
  }

  /** Resolves the WebSocket URL once the relay printed "Ready". */
  async ready(): Promise<string> {
    await waitFor(
      () => this.stdout.includes('Ready.') || this.exitCode !== undefined,
      'the relay to be ready',
      30_000,
    );
    if (this.exitCode !== undefined) throw new Error(`relay exited ${this.exitCode}: ${this.stderr}`);
    return /WebSocket\s+(\S+)/.exec(this.stdout)![1]!;
  }

  async exited(timeoutMs = 30_000): Promise<number | null> {
    await waitFor(() => this.exitCode !== undefined, 'the relay to exit', timeoutMs);
    return this.exitCode!;
  }

  kill(): void {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
  }
}
