/**
 * Cold start probe, run in a fresh `node` process per sample: times `await import(bundle)` with
 * process.hrtime and prints one JSON line: the import time and the time since the process began.
 */
const url = process.argv[2];
const t0 = process.hrtime.bigint();
const mod = await import(url);
const t1 = process.hrtime.bigint();
const importMs = Number(t1 - t0) / 1e6;
process.stdout.write(
  `${JSON.stringify({ importMs, sinceProcessStartMs: performance.now(), hasHandler: typeof mod.handler === 'function' })}\n`,
);
