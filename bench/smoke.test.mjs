/**
 * Keeps the bench scripts from rotting, without asserting anything about speed: runs
 * `bench/run.mjs --quick` (tiny counts, a temporary output folder) and checks the shape of what
 * it wrote. Not part of `pnpm test`; run it with `node --test bench/` (about 30 s; needs a build).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const relayBuilt = existsSync(join(here, '..', 'apps', 'relay', 'dist', 'index.js'));

test('bench --quick runs and writes results.json and BENCHMARKS.md', { timeout: 180_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'mpc-relay-bench-smoke-'));
  try {
    await new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        // The peer (serverless-offline) is left out: it is only there once a full run installed it, and
        // with it the quick run takes minutes. The smoke test checks the same scripts on every machine.
        [join(here, 'run.mjs'), '--quick', '--skip=peers', `--out=${out}`],
        { timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.ok(results.machine.cpuModel);
    assert.equal(typeof results.machine.cores, 'number');
    assert.equal(results.baseline.hop.lost, 0);
    assert.ok(results.baseline.hop.latencyMs.n > 0);
    assert.ok(readFileSync(join(out, 'BENCHMARKS.md'), 'utf8').startsWith('# Benchmarks'));
    if (relayBuilt) {
      assert.equal(results.relay.hop.lost, 0);
      assert.equal(results.relay.roundTrip.lost, 0);
      assert.equal(typeof results.dynamodbRequestsPerMessage, 'object');
      assert.equal(typeof results.dynamodbRequestsPerMessage['sendServer (mpc -> cli)'], 'number');
      assert.ok(results.relay.throughput.stages.every((s) => s.lost === 0));
      assert.ok(results.cost.perMillionMessages.length > 0);
    }
    assert.ok(results.coldStart.bundles.length > 0 || !relayBuilt);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
