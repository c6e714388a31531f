/** The relay command (`node apps/relay/dist/main.js`) as a real process: start, SIGKILL, restart. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { waitFor } from './wait.js';

const require = createRequire(import.meta.url);
export const RELAY_MAIN = join(dirname(require.resolve('@mpc-relay/relay/package.json')), 'dist', 'main.js');

export class RelayProcess {
  stdout = '';
  stderr = '';
  exitCode?: number | null;
  signal?: NodeJS.Signals | null;
  readonly child: ChildProcessWithoutNullStreams;

  private constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [RELAY_MAIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.signal = signal;
    });
  }

  /** Starts `mpc-relay --port PORT --data-dir DIR` and resolves once it printed "Ready." (bounded). */
  static async start(
    options: { port: number; dataDir: string; args?: string[]; readyTimeoutMs?: number },
    env: Record<string, string> = {},
  ): Promise<{ relay: RelayProcess; url: string }> {
    const relay = new RelayProcess(
      ['--port', String(options.port), '--data-dir', options.dataDir, ...(options.args ?? [])],
      env,
    );
    const url = await relay.ready(options.readyTimeoutMs);
    return { relay, url };
  }

  get running(): boolean {
    return this.exitCode === undefined && this.signal === undefined;
  }

  async ready(timeoutMs = 30_000): Promise<string> {
    await waitFor(
      () => this.stdout.includes('Ready.') || !this.running,
      'the relay process to be ready',
      timeoutMs,
    );
    if (!this.running) throw new Error(`relay exited (${this.exitCode ?? this.signal}): ${this.stderr}`);
    const match = /WebSocket\s+(\S+)/.exec(this.stdout);
    if (!match?.[1]) throw new Error(`no WebSocket URL in the relay output: ${this.stdout}`);
    return match[1];
  }

  /**
   * SIGKILL: no shutdown code runs (no 1001, no $disconnect, no store flush). Resolves once the relay
   * is dead and so is its store process, which outlives it while it closes its LevelDB files: until
   * then the data folder can neither be removed nor safely reopened.
   */
  async kill(): Promise<void> {
    if (!this.running) return;
    const children = childPids(this.child.pid ?? -1);
    this.child.kill('SIGKILL');
    await waitFor(() => !this.running, 'the killed relay to exit', 10_000);
    await waitFor(() => !children.some(alive), "the killed relay's store process to exit", 30_000);
  }

  /** SIGTERM (clean stop); resolves with the exit code. */
  async stop(timeoutMs = 30_000): Promise<number | null | undefined> {
    if (this.running) this.child.kill('SIGTERM');
    await waitFor(() => !this.running, 'the relay to stop', timeoutMs);
    return this.exitCode;
  }
}

/** The pids whose parent is `pid`, from /proc (Linux). */
function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat?.parent === pid) children.push(Number(entry));
  }
  return children;
}

/** A process is gone once /proc no longer has it or it is a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

function procStat(pid: number): { state: string; parent: number } | undefined {
  try {
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so read after the last ')'.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, parent] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state ?? '', parent: Number(parent) };
  } catch {
    return undefined;
  }
}
