/**
 * Runs a built command as a child process and watches its output (every wait bounded).
 * Shared by the apps/signer and apps/mpc-sim tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export class Child {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly process: ChildProcess;
  /** The exit code, once the process exited and its stdout and stderr were read to the end. */
  readonly exited: Promise<number | null>;
  #closed = false;
  #listeners: (() => void)[] = [];

  constructor(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.process = spawn(process.execPath, [script, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (stream: NodeJS.ReadableStream | null, into: string[]) => {
      let buffer = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buffer += chunk;
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        into.push(...lines);
        for (const listener of this.#listeners.splice(0)) listener();
      });
      // A last line without a newline.
      stream?.on('end', () => {
        if (buffer) into.push(buffer);
        buffer = '';
      });
    };
    collect(this.process.stdout, this.stdout);
    collect(this.process.stderr, this.stderr);
    // 'close', not 'exit': 'exit' can come before the last output is read (on a loaded machine, by
    // more than any fixed wait); 'close' comes once the process exited and its output ended.
    this.exited = new Promise((resolve) => {
      this.process.on('close', (code) => {
        this.#closed = true;
        for (const listener of this.#listeners.splice(0)) listener();
        resolve(code);
      });
    });
  }

  /** Waits for a stdout line matching `pattern`; returns it. */
  async line(pattern: RegExp, timeoutMs = 15_000, stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this[stream].find((line) => pattern.test(line));
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0 || this.#closed) {
        throw new Error(
          `no ${stream} line matching ${pattern}\nstdout:\n${this.stdout.join('\n')}\nstderr:\n${this.stderr.join('\n')}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** JSON lines printed so far (for --json). */
  events(): Record<string, unknown>[] {
    return this.stdout.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
  }

  async exit(timeoutMs = 15_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`process did not exit; stdout:\n${this.stdout.join('\n')}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.process.exitCode === null) this.process.kill('SIGKILL');
  }
}
