/** The relay command (`node apps/relay/dist/main.js`) as a real process: start, SIGKILL, restart. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
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

  /** SIGKILL: no shutdown code runs (no 1001, no $disconnect, no store flush). Resolves once dead. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await waitFor(() => !this.running, 'the killed relay to exit', 10_000);
  }

  /** SIGTERM (clean stop); resolves with the exit code. */
  async stop(timeoutMs = 30_000): Promise<number | null | undefined> {
    if (this.running) this.child.kill('SIGTERM');
    await waitFor(() => !this.running, 'the relay to stop', timeoutMs);
    return this.exitCode;
  }
}
