// The package as a stranger gets it: `pnpm pack`, then a plain Node ESM project OUTSIDE the workspace
// installs the tarball with npm (zod comes from the registry), imports it, decodes a v1 frame, reads
// a JSON Schema file through the exports map, and type-checks against the shipped .d.ts.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, V1_EXAMPLES } from './helpers.js';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const TIMEOUT = 120_000;

/** The environment for child tools: no pnpm-specific npm settings, no prompts or notices. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.npm_config_user_agent;
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

/** How to run pnpm: the one running this script when there is one, else `pnpm` from PATH. */
function pnpmCommand(): [string, string[]] {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(execPath) && /\.(c?js|mjs)$/.test(execPath))
    return [process.execPath, [execPath]];
  return ['pnpm', []];
}

async function exec(command: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(command, args, {
      cwd,
      env: childEnv(),
      timeout: TIMEOUT - 10_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(' ')} failed in ${cwd}:\n${failure.message}\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`,
    );
  }
}

let workDir = '';
let tarball = '';
let consumerDir = '';

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'mpc-relay-protocol-pack-'));
  // The global setup has built dist/ and schemas/; pack what a publish would ship.
  const [pnpm, pnpmArgs] = pnpmCommand();
  await exec(pnpm, [...pnpmArgs, 'pack', '--pack-destination', workDir], packageDir);
  const tarballs = readdirSync(workDir).filter((name) => name.endsWith('.tgz'));
  expect(tarballs).toHaveLength(1);
  tarball = join(workDir, tarballs[0] ?? '');

  consumerDir = join(workDir, 'consumer');
  await exec(
    process.execPath,
    ['-e', `require('node:fs').mkdirSync(${JSON.stringify(consumerDir)})`],
    workDir,
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await exec(npm, ['init', '-y'], consumerDir);
  const manifest = JSON.parse(readFileSync(join(consumerDir, 'package.json'), 'utf8'));
  writeFileSync(join(consumerDir, 'package.json'), JSON.stringify({ ...manifest, type: 'module' }, null, 2));
  await exec(npm, ['install', tarball, '--no-audit', '--no-fund', '--loglevel=error'], consumerDir);
}, TIMEOUT);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('packed tarball', () => {
  it(
    'ships dist (js + d.ts), the JSON Schema files, the README and a manifest without workspace specifiers',
    async () => {
      const listing = (await exec('tar', ['-tzf', tarball], workDir)).split('\n').filter(Boolean);
      for (const file of [
        'package/package.json',
        'package/README.md',
        'package/dist/index.js',
        'package/dist/index.d.ts',
        'package/schemas/client.sendServer.json',
        'package/schemas/relay.cliDelivery.json',
      ]) {
        expect(listing).toContain(file);
      }
      expect(listing.some((file) => file.startsWith('package/tests/'))).toBe(false);
      expect(listing.some((file) => file.startsWith('package/node_modules/'))).toBe(false);

      const manifest = JSON.parse(
        await exec('tar', ['-xzf', tarball, '-O', 'package/package.json'], workDir),
      );
      expect(manifest.name).toBe('@mpc-relay/protocol');
      expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(manifest.type).toBe('module');
      expect(manifest.exports['.']).toMatchObject({ types: './dist/index.d.ts', import: './dist/index.js' });
      expect(manifest.exports['./schemas/*']).toBe('./schemas/*');
      expect(manifest.dependencies.zod).toMatch(/^[\^~]?4\./);
      expect(JSON.stringify(manifest)).not.toMatch(/catalog:|workspace:/);
    },
    TIMEOUT,
  );

  it(
    'a plain Node ESM project imports it, decodes a v1 frame and reads a JSON Schema via exports',
    async () => {
      const v1Frame = fixture(V1_EXAMPLES.realPartialSig.sent);
      writeFileSync(join(consumerDir, 'v1-frame.json'), v1Frame);
      writeFileSync(
        join(consumerDir, 'check.mjs'),
        `import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { decodeClientFrame, encodeCliDelivery, MAX_MESSAGE_BYTES, PROTOCOL_V2 } from '@mpc-relay/protocol';
import sendServerSchema from '@mpc-relay/protocol/schemas/client.sendServer.json' with { type: 'json' };

const require = createRequire(import.meta.url);
const decoded = decodeClientFrame(readFileSync(new URL('./v1-frame.json', import.meta.url), 'utf8'));
const delivery = decoded.ok
  ? encodeCliDelivery({ operationType: decoded.value.operationType, from: decoded.value.sourceId, message: decoded.value.message })
  : null;
const cliDeliverySchema = require('@mpc-relay/protocol/schemas/relay.cliDelivery.json');
const bad = decodeClientFrame('{"action":"sendServer"}');
console.log(JSON.stringify({
  ok: decoded.ok,
  action: decoded.ok ? decoded.value.action : null,
  delivery,
  badCode: bad.ok ? null : bad.error.code,
  maxMessageBytes: MAX_MESSAGE_BYTES,
  protocolV2: PROTOCOL_V2,
  sendServerSchema: { id: sendServerSchema.$id, required: sendServerSchema.required },
  cliDeliveryTitle: cliDeliverySchema.title,
  version: require('@mpc-relay/protocol/package.json').version,
}));
`,
      );
      const output = JSON.parse(await exec(process.execPath, ['check.mjs'], consumerDir));
      expect(output).toEqual({
        ok: true,
        action: 'sendServer',
        delivery: JSON.stringify(JSON.parse(fixture(V1_EXAMPLES.realPartialSig.received))),
        badCode: 'INVALID_FRAME',
        maxMessageBytes: 131072,
        protocolV2: 'mpc-relay.v2',
        sendServerSchema: {
          id: 'https://mpc-relay.dev/schemas/client.sendServer.json',
          required: ['action', 'sourceId', 'operationType', 'message'],
        },
        cliDeliveryTitle: 'relay.cliDelivery',
        version: JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).version,
      });
    },
    TIMEOUT,
  );

  it(
    'a TypeScript project (NodeNext, strict) type-checks against the shipped .d.ts',
    async () => {
      writeFileSync(
        join(consumerDir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            target: 'ES2022',
            strict: true,
            noEmit: true,
            types: [],
            skipLibCheck: false,
          },
          files: ['check.ts'],
        }),
      );
      writeFileSync(
        join(consumerDir, 'check.ts'),
        `import { type ClientFrame, decodeClientFrame, decodeRelayFrame, ErrorCode, type RelayFrame } from '@mpc-relay/protocol';

const result = decodeClientFrame('{"action":"ping"}');
if (result.ok) {
  const frame: ClientFrame = result.value;
  if (frame.action === 'sendServer') {
    const id: string = frame.sourceId;
    const target: Record<string, string> | undefined = frame.cliToMpc;
    void id;
    void target;
  }
} else {
  const code: ErrorCode = result.error.code;
  void code;
}
const relay = decodeRelayFrame('{"connectionId":"abc"}');
if (relay.ok) {
  const frame: RelayFrame = relay.value;
  if (frame.kind === 'connectionId') {
    const id: string = frame.frame.connectionId;
    void id;
  }
}
`,
      );
      const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
      await exec(process.execPath, [tsc, '-p', 'tsconfig.json'], consumerDir);
    },
    TIMEOUT,
  );
});
