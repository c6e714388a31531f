#!/usr/bin/env node
// `pnpm test`: builds, then every package's vitest suite through turbo and the bench smoke test, and
// one total at the end (tests passed / failed / skipped, per-suite time). Exits non-zero if anything
// failed. Extra arguments (e.g. `--filter=@mpc-relay/relay`) go to turbo.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const strip = (text) => text.replace(ANSI, '');

/** Runs a command, echoing its output and handing each line to `onLine`. */
function run(command, args, onLine) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ['inherit', 'pipe', 'pipe'] });
    for (const [stream, out] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ]) {
      let rest = '';
      stream.on('data', (chunk) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        if (lines.length) out.write(`${lines.join('\n')}\n`);
        for (const line of lines) onLine(strip(line));
      });
      stream.on('end', () => {
        if (!rest) return;
        out.write(`${rest}\n`);
        onLine(strip(rest));
      });
    }
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const started = Date.now();
const totals = { passed: 0, failed: 0, skipped: 0 };
const suites = new Map(); // package -> { passed, failed, skipped, seconds }
const count = (line, word) => Number(new RegExp(`(\\d+) ${word}`).exec(line)?.[1] ?? 0);
const extra = process.argv.slice(2).filter((arg) => arg !== '--');

function parseVitestLine(line) {
  const match = /^(@?[\w/.-]+):test: (.*)$/.exec(line);
  if (!match) return;
  const [, name, text] = match;
  const suite = suites.get(name) ?? { passed: 0, failed: 0, skipped: 0, seconds: 0 };
  // A file that fails to load (or a failing hook) counts as a failure although no test ran.
  if (/^\s*Test Files\s+/.test(text)) suite.failedFiles = count(text, 'failed');
  if (/^\s*Tests\s+\d+/.test(text)) {
    suite.passed = count(text, 'passed');
    suite.failed = count(text, 'failed');
    suite.skipped = count(text, 'skipped') + count(text, 'todo');
  }
  const duration = /^\s*Duration\s+([\d.]+)(ms|s)/.exec(text);
  if (duration) suite.seconds = Number(duration[1]) / (duration[2] === 'ms' ? 1000 : 1);
  suites.set(name, suite);
}

// The builds first, as many at once as there are cores (tsc is single-threaded); the test runs
// below then find every build in turbo's cache.
const buildStatus = await run(
  'turbo',
  ['run', 'build', `--concurrency=${availableParallelism()}`, '--output-logs=errors-only', ...extra],
  () => {},
);

// --only: the builds are done. --continue: every suite runs even after one failed, so the total
// covers them all. One suite at a time: two at once on a shared 2-core machine pushed tests past
// their timeouts (a hook's 30 s, an mpc's 10 s wait for its answer).
const bench = { passed: 0, failed: 0, skipped: 0, seconds: 0 };
async function benchSmoke() {
  const benchStarted = Date.now();
  const status = await run(process.execPath, ['--test', 'bench/'], (line) => {
    const match = /^# (pass|fail|skipped) (\d+)/.exec(line);
    if (match)
      bench[match[1] === 'pass' ? 'passed' : match[1] === 'fail' ? 'failed' : 'skipped'] = Number(match[2]);
  });
  bench.seconds = (Date.now() - benchStarted) / 1000;
  return status;
}

const statuses =
  buildStatus !== 0
    ? [buildStatus]
    : [
        await run(
          'turbo',
          ['run', 'test', '--only', '--concurrency=1', '--continue', ...extra],
          parseVitestLine,
        ),
        await benchSmoke(),
      ];
if (bench.passed + bench.failed + bench.skipped > 0) suites.set('bench (node --test)', bench);

const rows = [...suites].filter(([, s]) => s.passed + s.failed + s.skipped + (s.failedFiles ?? 0) > 0);
for (const [, s] of rows) {
  if (s.failedFiles && !s.failed) s.failed = s.failedFiles;
  for (const key of Object.keys(totals)) totals[key] += s[key];
}
const seconds = (Date.now() - started) / 1000;
const clock = (s) => (s >= 60 ? `${Math.floor(s / 60)}m ${Math.round(s % 60)}s` : `${s.toFixed(1)}s`);
const width = Math.max(0, ...rows.map(([name]) => name.length));
console.log('\nSuites:');
for (const [name, s] of rows) {
  const failed = s.failed ? `, ${s.failed} failed` : '';
  console.log(
    `  ${name.padEnd(width)}  ${String(s.passed).padStart(4)} passed${failed}  ${clock(s.seconds)}`,
  );
}
const failed = statuses.some((status) => status !== 0);
if (buildStatus !== 0) console.log('the build failed: no test ran');
console.log(
  `all suites: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped, ${rows.length} suites, ${clock(seconds)}${failed ? ' (FAILED)' : ''}`,
);
process.exit(failed ? 1 : 0);
