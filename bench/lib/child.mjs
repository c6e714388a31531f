/**
 * Servers under test run in their own child process, so their CPU and memory are measured alone
 * and the clients never share their event loop. Parent side: spawn, wait for `ready`, then
 * request/response over the IPC channel. Every wait is bounded.
 */
import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';

export async function startChild(
  script,
  { args = [], env = {}, execArgv = [], readyTimeoutMs = 30_000 } = {},
) {
  const child = fork(script, args, {
    env: { ...process.env, ...env },
    execArgv: ['--expose-gc', ...execArgv],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const pending = new Map();
  let nextId = 1;
  child.on('message', (msg) => {
    if (msg && typeof msg.id === 'number' && pending.has(msg.id)) {
      const { resolve, reject, timer } = pending.get(msg.id);
      pending.delete(msg.id);
      clearTimeout(timer);
      if (msg.error) reject(new Error(msg.error));
      else resolve(msg.result);
    }
  });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script}: not ready in ${readyTimeoutMs} ms\n${stderr}`)),
      readyTimeoutMs,
    );
    child.on('message', (msg) => {
      if (msg?.type === 'ready') {
        clearTimeout(timer);
        resolve(msg);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before ready\n${stderr}`));
    });
  });
  return {
    pid: child.pid,
    ready,
    stderr: () => stderr,
    call(cmd, payload = {}, timeoutMs = 60_000) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`child ${cmd}: no answer in ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        child.send({ id, cmd, payload });
      });
    },
    async stop(timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        child.send({ id: 0, cmd: 'close' });
      } catch {
        // channel already closed
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
      // A killed relay cannot remove its temporary data folder: do it here (only the bench's own).
      const dir = ready.dataDir;
      if (
        typeof dir === 'string' &&
        dir.startsWith(tmpdir()) &&
        basename(dir).startsWith('mpc-relay-bench-')
      ) {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
