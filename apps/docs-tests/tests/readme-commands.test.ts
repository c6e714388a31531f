// Every command the READMEs print, run as printed from the repository root (pnpm where the README
// says pnpm), block by block: the commands of one fenced block share a session, as one shell would
// (a relay a block starts serves the commands after it; `NAME=$(...)` and `export NAME=value` are
// kept for them). What the runner changes, and only that: the relay's port (3001 / 4000 in the
// text, PORT) becomes a free port, its data folder (./relay-data, DATA_DIR) a temporary folder, so
// runs never collide or write into the repository, and the stand-in DynamoDB port 40113 the port
// the running relay's banner prints (the README tells a user to do the same). Long-running
// commands (a relay, the signer) run until they say they are ready, then get SIGINT, as from Ctrl-C
// in a terminal, and must exit 0 without a pnpm lifecycle error. Commands that cannot run here are
// in NOT_RUNNABLE with the reason, reviewed like code. A failure names the README and the line.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type Command, extractCommands, readmes } from './commands.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Commands that cannot run on a developer machine or in CI, and why. Matched against the text. */
export const NOT_RUNNABLE: { match: RegExp; reason: string }[] = [
  {
    match: /\bpulumi\b|\$URL\b/,
    reason: 'needs the Pulumi CLI, a backend and an AWS account (a deployed stack)',
  },
  { match: /execute-api\.[a-z0-9-]+\.amazonaws\.com/, reason: 'a relay deployed on AWS' },
  {
    match: /^aws lambda invoke --function-name/,
    reason: 'invokes the function of a deployed stack on AWS',
  },
  {
    match: /^npm install @mpc-relay\/(protocol|signer) zod$/,
    reason: 'installs from npm once published; the pack test installs the packed tarball the same way',
  },
  {
    match: /pnpm lint && pnpm test$/,
    reason: 'the test command itself: CI runs it through .ci/run (checked below)',
  },
];

/** `pnpm --filter PKG SCRIPT` of a package's own test suite: turbo runs that same script in `pnpm test`. */
const SUITE_SCRIPT = /^pnpm --filter (@mpc-relay\/[a-z-]+) (test|test:known-failures)$/;

/** Long-running commands and what they print once ready. */
const SERVES: { match: RegExp; ready: RegExp; relay?: boolean }[] = [
  { match: /^(PORT=\S+ )?pnpm (start|dev)\b/, ready: /^Ready\./m, relay: true },
  { match: /^node apps\/signer\/dist\/main\.js --url/, ready: /Connection id/ },
];

function awsCliMajor(binary: string): number {
  try {
    const version = execFileSync(binary, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return Number(/aws-cli\/(\d+)/.exec(version)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * The folder to put first on PATH so that `aws` is AWS CLI v2, or undefined when there is none.
 * A machine can have v1 first on PATH (pip, pyenv) and Debian's v2 in /usr/bin (`.ci/run` installs
 * it): the README's commands need v2, so the runner uses that one, as the README tells a user to.
 */
function awsCliV2Dir(): string | undefined {
  if (awsCliMajor('aws') >= 2) return '';
  if (!existsSync('/usr/bin/aws') || awsCliMajor('/usr/bin/aws') < 2) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'mpc-relay-docs-aws-'));
  symlinkSync('/usr/bin/aws', join(dir, 'aws'));
  return dir;
}
const AWS_CLI_V2_DIR = awsCliV2Dir();
const AWS_CLI_V2 = AWS_CLI_V2_DIR !== undefined;

/**
 * A free port below the kernel's ephemeral range. The relay listens on it seconds later (after
 * turbo's check), and a port from `listen(0)` is one any outgoing connection or other test on the
 * machine may take in the meantime; below that range only an explicit listen can.
 */
async function freePort(): Promise<number> {
  const rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'; // Linux; elsewhere 32768 is below it
  const range = existsSync(rangeFile) ? readFileSync(rangeFile, 'utf8').trim().split(/\s+/) : [];
  const low = Math.max(Number(range[0]) || 32768, 12000);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 10000 + Math.floor(Math.random() * (low - 10000));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between 10000 and ${low}`);
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

interface Running {
  command: Command;
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
  relay: boolean;
  /** Ends it with end of input (Ctrl-D) instead of Ctrl-C: wscat, whose input is a pipe here. */
  endInput?: boolean;
}

const temps: string[] = AWS_CLI_V2_DIR ? [AWS_CLI_V2_DIR] : [];
const running: Running[] = [];
afterAll(() => {
  for (const r of running) if (r.child.exitCode === null) signalGroup(r.child, 'SIGKILL');
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** Signals the command's process group (it was started detached, so it leads one). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-(child.pid ?? 0), signal);
  } catch {
    // already gone
  }
}

function where(command: Command): string {
  return `${command.file}:${command.line}: ${command.text}`;
}

class Session {
  readonly env: NodeJS.ProcessEnv;
  readonly vars = new Map<string, string>();
  private relay: Running | undefined;
  /** The port on the running relay's banner line `DynamoDB    http://127.0.0.1:PORT`. */
  private dynamoPort: string | undefined;
  /** The id of the connection the banner's `Try` line opened, as the relay logged it. */
  connectionId: string | undefined;

  constructor(
    readonly port: number,
    readonly dataDir: string,
    /** The repository root, or a sandbox that links to its apps/ and packages/ (see below). */
    readonly cwd = root,
  ) {
    this.env = {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    delete this.env.npm_config_user_agent;
    // A user's shell has no node_modules/.bin on its PATH (pnpm and vitest add theirs): a README
    // command that only works from a pnpm script must fail here too.
    this.env.PATH = (process.env.PATH ?? '')
      .split(':')
      .filter((dir) => !/node_modules[\\/]\.bin/.test(dir))
      .join(':');
    if (AWS_CLI_V2_DIR) this.env.PATH = `${AWS_CLI_V2_DIR}:${this.env.PATH}`;
  }

  substitute(text: string): string {
    let out = text
      .replace(/127\.0\.0\.1:(3001|4000)\b/g, `127.0.0.1:${this.port}`)
      .replace(/--port (3001|4000)\b/g, `--port ${this.port}`)
      .replace(/\bPORT=(3001|4000)\b/g, `PORT=${this.port}`)
      .replace(/(\$PWD\/|\.\/)relay-data\b/g, this.dataDir);
    if (this.dynamoPort) out = out.replace(DYNAMODB_PLACEHOLDER, `127.0.0.1:${this.dynamoPort}`);
    const key = this.vars.get('PUBLIC_KEY');
    if (key) out = out.replace(/<printed key>|02a1…/g, key);
    return out;
  }

  /**
   * Runs one command to its end: exit 0, no lifecycle error. Returns its output. Each command runs
   * in its own bash, so what a user's shell keeps for the commands after it is kept here:
   * `NAME=$(...)` stores the output, `export NAME=value ...` the values as bash expands them.
   */
  run(command: Command, text = this.substitute(command.text)): string {
    const assignment = /^([A-Z_]+)=\$\((.*)\)$/.exec(text);
    const exported = EXPORT.test(text)
      ? [...text.matchAll(/\s([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1] ?? '')
      : [];
    let script = assignment ? (assignment[2] ?? '') : text;
    if (exported.length > 0) script += `\nprintf '%s\\0' ${exported.map((name) => `"$${name}"`).join(' ')}`;
    let output = '';
    try {
      output = execFileSync('bash', ['-c', script], {
        cwd: this.cwd,
        env: { ...this.env, ...Object.fromEntries(this.vars) },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 240_000,
        maxBuffer: 32 * 1024 * 1024,
      });
    } catch (error) {
      const failure = error as { status?: number; stdout?: string; stderr?: string; message: string };
      throw new Error(
        `${where(command)}\n  failed (exit ${failure.status ?? '?'}): ${failure.message.split('\n')[0]}\n${tail(`${failure.stdout ?? ''}${failure.stderr ?? ''}`)}`,
      );
    }
    expect(output, where(command)).not.toMatch(/ELIFECYCLE/);
    if (assignment?.[1]) this.vars.set(assignment[1], output.trim());
    const values = output.split('\0');
    for (const [index, name] of exported.entries()) this.vars.set(name, values[index] ?? '');
    const key = /(?:Public key|Signer public key): ([0-9a-f]{66})/.exec(output)?.[1];
    if (key) this.vars.set('PUBLIC_KEY', key);
    return output;
  }

  /** Starts a long-running command and waits until it is ready. */
  async serve(
    command: Command,
    ready: RegExp,
    relay: boolean,
    text = this.substitute(command.text),
    cwd = this.cwd,
    endInput = false,
  ) {
    if (relay) await this.stopRelays();
    const child = spawn('bash', ['-c', text], {
      cwd,
      env: { ...this.env, ...Object.fromEntries(this.vars) },
      stdio: [endInput ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const entry: Running = { command, child, output: () => output, exit, relay, endInput };
    running.push(entry);
    const deadline = Date.now() + 280_000;
    while (!ready.test(output)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`${where(command)}\n  never became ready (exit ${child.exitCode})\n${tail(output)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (relay) {
      this.relay = entry;
      this.dynamoPort = /^ {2}DynamoDB +http:\/\/127\.0\.0\.1:(\d+) /m.exec(output)?.[1];
      this.connectionId = undefined;
    }
    const key = /Signer public key: ([0-9a-f]{66})/.exec(output)?.[1];
    if (key) this.vars.set('PUBLIC_KEY', key);
    return entry;
  }

  /** Ctrl-C: SIGINT to the whole process group, as a terminal sends it. Exit 0, nothing alarming. */
  async stop(entry: Running): Promise<void> {
    if (entry.child.exitCode === null) {
      if (entry.endInput) entry.child.stdin?.end();
      else signalGroup(entry.child, 'SIGINT');
    }
    const code = await entry.exit;
    const output = entry.output();
    if (code !== 0 || /ELIFECYCLE|Command failed/.test(output)) {
      throw new Error(`${where(entry.command)}\n  Ctrl-C ended it with exit ${code}\n${tail(output)}`);
    }
  }

  async stopRelays(): Promise<void> {
    for (const entry of running.filter((r) => r.relay && r.child.exitCode === null)) await this.stop(entry);
    this.relay = undefined;
  }

  async stopAll(): Promise<void> {
    for (const entry of running.filter((r) => r.child.exitCode === null).reverse()) await this.stop(entry);
    running.length = 0;
  }

  /** A relay for commands that talk to one the README assumes is running (`pnpm start`). */
  async ensureRelay(command: Command): Promise<void> {
    if (this.relay) return;
    await this.serve(command, /^Ready\./m, true, 'pnpm start', root);
  }

  /**
   * A live connection for commands that look one up, opened as the README tells a user to: the
   * running relay's banner `Try` line, run as printed in another terminal. It is open once the relay
   * logs its `connect` line, whose id it keeps.
   */
  async ensureConnection(command: Command): Promise<void> {
    await this.ensureRelay(command);
    if (this.connectionId) return;
    const relay = this.relay as Running;
    const tryLine = /^ {2}Try +(.+)$/m.exec(relay.output())?.[1];
    const cliId = /cliId=([\w-]+)/.exec(tryLine ?? '')?.[1];
    if (!tryLine || !cliId)
      throw new Error(`${where(command)}\n  the relay printed no Try line\n${tail(relay.output())}`);
    const before = relay.output().length;
    const connected = new RegExp(`^\\S+ connect +(\\S+) cli:${cliId} `, 'm');
    const wscat = await this.serve(command, /^/, false, tryLine, root, true);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const id = connected.exec(relay.output().slice(before))?.[1];
      if (id) {
        this.connectionId = id;
        return;
      }
      if (wscat.child.exitCode !== null || Date.now() > deadline)
        throw new Error(
          `${where(command)}\n  \`${tryLine}\` never connected (exit ${wscat.child.exitCode})\n${tail(relay.output())}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** A signer for commands that expect one online (the mpc simulator). */
  async ensureSigner(command: Command): Promise<void> {
    if (running.some((r) => /signer\/dist\/main\.js/.test(r.command.text) && r.child.exitCode === null))
      return;
    await this.serve(
      command,
      /Connection id/,
      false,
      /--scheme musig2/.test(command.text)
        ? `node apps/signer/dist/main.js --url ws://127.0.0.1:${this.port}/production --cli-id cli123 --scheme musig2 --key-dir cli-keys --allow-mpc IgniterC56D`
        : `node apps/signer/dist/main.js --url ws://127.0.0.1:${this.port}/production --cli-id cli123 --ephemeral-key --allow-mpc IgniterC56D`,
    );
  }
}

function tail(text: string): string {
  return text.split('\n').slice(-25).join('\n');
}

function packageScripts(name: string): Record<string, string> {
  for (const parent of ['packages', 'apps', '.']) {
    const base = join(root, parent);
    for (const dir of parent === '.' ? ['infra'] : readdirSync(base)) {
      const file = join(base, dir, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8'));
      if (manifest.name === name) return manifest.scripts ?? {};
    }
  }
  throw new Error(`no package named ${name}`);
}

/** The AWS CLI, and what prints the file it wrote. */
const NEEDS_AWS_CLI_V2 = /(^|[\s(])aws [a-z]|^cat out\.json\b/;
/** `export NAME=value ...`, one line: session state for the block's later commands. */
const EXPORT = /^export( [A-Za-z_][A-Za-z0-9_]*=\S+)+$/;
/**
 * The DynamoDB port apps/relay/README.md prints: a stand-in for the port on the banner's `DynamoDB`
 * line (random at each start), which the runner puts in its place as the README tells a user to.
 */
const DYNAMODB_PLACEHOLDER = /127\.0\.0\.1:40113\b/g;
/** Commands that need a live connection (the README: the banner's `Try` line open). */
const NEEDS_CONNECTION = /\bCONNECTION_ID=\$\(|\bget-connection\b/;
/** Commands that write into the working folder: they run in a sandbox, never in the repository. */
const WRITES_HERE = /^node apps\/|(^|\s)aws [a-z]|^cat out\.json\b/;
const NEEDS_SIGNER = /^node apps\/mpc-sim\/dist\/main\.js /;
const NEEDS_RELAY = /127\.0\.0\.1:(3001|40113)\b|pnpm (-s )?run token/;
const CHECKED_PNPM = /^npm install -g pnpm@(\S+) && /;

/** The last step of `a && b && c`: what decides whether the line keeps running. */
function lastStep(text: string): string {
  return (text.split('&&').at(-1) ?? text).trim();
}

/** What the runner does with one command. */
function plan(command: Command): string {
  const skip = NOT_RUNNABLE.find((entry) => entry.match.test(command.text));
  if (skip) return `not runnable here: ${skip.reason}`;
  if (NEEDS_AWS_CLI_V2.test(command.text) && !AWS_CLI_V2) {
    // CI (.ci/run) installs it, so there a missing v2 is a failure, never a silent skip.
    return process.env.CI
      ? 'missing AWS CLI v2'
      : 'not runnable here: needs AWS CLI v2 (this machine has none or v1)';
  }
  if (SUITE_SCRIPT.test(command.text)) return 'suite';
  if (SERVES.some((entry) => entry.match.test(lastStep(command.text)))) return 'serve';
  return 'run';
}

const files = readmes(root);
const all = files.flatMap((file) => extractCommands(root, file));

describe('README commands', () => {
  it('finds the commands of every README (the extraction itself works)', () => {
    expect(files).toContain('README.md');
    expect(all.length).toBeGreaterThan(20);
    const quickStart = all.find((c) => c.file === 'README.md' && /pnpm start$/.test(c.text));
    expect(quickStart?.text).toBe('npm install -g pnpm@12.4.2 && pnpm install && pnpm start');
    const continued = all.find(
      (c) => c.text.startsWith('node apps/mpc-sim/dist/main.js') && c.file === 'README.md',
    );
    expect(continued?.text).toMatch(/--signer-pubkey <printed key> --count 100 --rate 20$/);
  });

  it('every NOT_RUNNABLE entry still matches a printed command (the list cannot go stale)', () => {
    for (const entry of NOT_RUNNABLE) {
      expect(
        all.some((c) => entry.match.test(c.text)),
        String(entry.match),
      ).toBe(true);
    }
  });

  it('the test command the README prints is what CI runs', () => {
    const ci = readFileSync(join(root, '.ci/run'), 'utf8');
    expect(ci).toMatch(/pnpm install --frozen-lockfile && pnpm lint && pnpm test/);
  });

  it('`pnpm --filter PKG test` lines name a real package script (turbo runs it in `pnpm test`)', () => {
    for (const command of all.filter((c) => plan(c) === 'suite')) {
      const [, name, script] = SUITE_SCRIPT.exec(command.text) ?? [];
      expect(packageScripts(name ?? ''), where(command)).toHaveProperty(script ?? '');
    }
  });

  const blocks = new Map<string, Command[]>();
  for (const command of all) {
    const key = `${command.file}#${command.block}`;
    blocks.set(key, [...(blocks.get(key) ?? []), command]);
  }

  for (const [key, commands] of blocks) {
    const first = commands[0] as Command;
    const plans = commands.map(plan);
    if (plans.every((p) => p.startsWith('not runnable') || p === 'suite')) continue;
    it(`${first.file}:${first.line} (${commands.length} command${commands.length > 1 ? 's' : ''}, block ${key.split('#')[1]})`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'mpc-relay-docs-'));
      temps.push(dataDir);
      // A block of `node apps/...` or `aws` commands only runs in a sandbox folder that links to
      // apps/ and packages/: what they write (`keygen signer.key`, `out.json`) lands there, never
      // next to a developer's own files in the repository.
      let cwd = root;
      if (commands.every((c) => WRITES_HERE.test(c.text))) {
        cwd = mkdtempSync(join(tmpdir(), 'mpc-relay-docs-cwd-'));
        temps.push(cwd);
        for (const dir of ['apps', 'packages', 'node_modules']) symlinkSync(join(root, dir), join(cwd, dir));
      }
      const session = new Session(await freePort(), dataDir, cwd);
      try {
        for (const [index, command] of commands.entries()) {
          const what = plans[index] ?? 'run';
          if (what.startsWith('not runnable') || what === 'suite') continue;
          if (what === 'missing AWS CLI v2') {
            throw new Error(
              `${where(command)}\n  needs AWS CLI v2, and CI has none (.ci/run installs Debian's awscli as root)`,
            );
          }
          if (NEEDS_SIGNER.test(command.text)) {
            await session.ensureRelay(command);
            await session.ensureSigner(command);
          } else if (what !== 'serve' && NEEDS_RELAY.test(command.text)) {
            await session.ensureRelay(command);
          }
          if (what !== 'serve' && NEEDS_CONNECTION.test(command.text))
            await session.ensureConnection(command);
          let text = session.substitute(command.text);
          const pinned = CHECKED_PNPM.exec(command.text);
          if (pinned) {
            // Installing pnpm globally would change the machine under every other process: the
            // pinned version is checked instead, and the rest of the line runs.
            expect(execFileSync('pnpm', ['--version'], { encoding: 'utf8' }).trim(), where(command)).toBe(
              pinned[1],
            );
            text = text.replace(CHECKED_PNPM, '');
          }
          if (what === 'serve') {
            const serve = SERVES.find((entry) => entry.match.test(lastStep(text))) ?? SERVES[0];
            if (!serve?.relay && NEEDS_RELAY.test(command.text)) await session.ensureRelay(command);
            await session.serve(command, serve?.ready ?? /Ready/, serve?.relay ?? false, text);
          } else {
            session.run(command, text);
          }
          if (/^CONNECTION_ID=\$\(/.test(command.text)) {
            // What the command printed is the connection the banner's Try line opened, live.
            expect(session.vars.get('CONNECTION_ID'), where(command)).toBe(session.connectionId);
          }
        }
      } finally {
        await session.stopAll();
      }
    });
  }
});
