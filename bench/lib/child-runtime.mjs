import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Child side of the IPC plumbing: the standard commands every server under test answers
 * (memory after GC, CPU time, close), plus the server's own commands.
 */

export function serveChild(commands, close) {
  process.on('message', async (msg) => {
    if (!msg || typeof msg.cmd !== 'string') return;
    if (msg.cmd === 'close') {
      try {
        await close();
      } finally {
        process.exit(0);
      }
      return;
    }
    const fn = commands[msg.cmd] ?? standard[msg.cmd];
    try {
      if (!fn) throw new Error(`unknown command ${msg.cmd}`);
      const result = await fn(msg.payload ?? {});
      process.send({ id: msg.id, result });
    } catch (error) {
      process.send({ id: msg.id, error: String(error?.stack ?? error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const standard = {
  /** Event loop delay since the last call (ms): how long ready work waited for the loop. */
  eventLoop() {
    const ms = (ns) => Math.round((ns / 1e6) * 100) / 100;
    const result = {
      median: ms(loopDelay.percentile(50)),
      p99: ms(loopDelay.percentile(99)),
      max: ms(loopDelay.max),
    };
    loopDelay.reset();
    return result;
  },
  /** Memory after a full GC (the child runs with --expose-gc), in bytes. */
  memory() {
    for (let i = 0; i < 3; i++) globalThis.gc?.();
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
  },
  /**
   * Threads and RSS of this process now (no GC): a server that starts a worker thread per
   * concurrent invocation shows it here. Threads from /proc (Linux); undefined elsewhere.
   */
  process() {
    let threads;
    try {
      threads = Number(/^Threads:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
    } catch {
      threads = undefined;
    }
    return { threads, rss: process.memoryUsage.rss() };
  },
  /** Cumulative user+system CPU time of this process, in microseconds, with a wall clock stamp. */
  cpu() {
    const c = process.cpuUsage();
    return { user: c.user, system: c.system, wallMs: Number(process.hrtime.bigint()) / 1e6 };
  },
};
