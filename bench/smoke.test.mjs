/**
 * Keeps the bench scripts from rotting, without asserting anything about speed: runs
 * `bench/run.mjs --quick` (tiny counts, a temporary output folder) and checks the shape of what
 * it wrote. `pnpm test` runs it after the suites; alone: `node --test bench/` (about 1 min on a quiet
 * machine, a few on a loaded one; needs a build).
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

test('bench --quick runs and writes results.json and BENCHMARKS.md', { timeout: 300_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'mpc-relay-bench-smoke-'));
  try {
    await new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        // The peer (serverless-offline) is left out: it is only there once a full run installed it, and
        // with it the quick run takes minutes. The smoke test checks the same scripts on every machine.
        [join(here, 'run.mjs'), '--quick', '--skip=peers', `--out=${out}`],
        { timeout: 290_000, maxBuffer: 16 * 1024 * 1024 },
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
      // The side-by-side relay runs the shipped bundles as they are; the exact counts and the
      // breakdown come from an instrumented relay in its own phase; both phases did the same work.
      assert.equal(results.relay.bundles, 'plain');
      assert.equal(results.relayInProcess.bundles, 'plain');
      assert.equal(results.relay.throughput.profile.bundles, 'plain');
      assert.equal(results.relay.instrumentedPhase.bundles, 'instrumented');
      assert.equal(results.relay.instrumentedPhase.hop.lost, 0);
      const plainPer = results.relay.plainCounts.perRelayedMessage;
      assert.equal(plainPer.sendServerInvocations, results.relay.perRelayedMessage.lambdaInvocations);
      assert.equal(plainPer.managementPosts, results.relay.perRelayedMessage.managementPosts);
      const instrumentedStorePer = results.relay.crossCheck.storeRequests / results.relay.relayedMessages;
      assert.ok(Math.abs(plainPer.storeRequests - instrumentedStorePer) < 0.01);
      assert.equal(results.relay.crossCheck.storeRequests, results.relay.crossCheck.dynamodbRequestsAtHttp);
      const b = results.breakdown;
      assert.equal(b.bundles, 'instrumented');
      for (const key of ['hopMedianMs', 'handlerMedianMs', 'sharedMedianMs', 'serverOwnMedianMs'])
        assert.equal(typeof b.relay[key], 'number', key);
      assert.equal(b.relay.invocationsPerHop, 1);
      assert.equal(b['serverless-offline'], undefined); // --skip=peers
      const md = readFileSync(join(out, 'BENCHMARKS.md'), 'utf8');
      assert.match(md, /## Where the time goes on one relayed message/);
      assert.match(md, /\*\*server's own part\*\*/);
    }
    assert.ok(results.coldStart.bundles.length > 0 || !relayBuilt);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
