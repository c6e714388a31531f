// The published packages as a stranger gets them: `pnpm pack` of @mpc-relay/protocol and
// @mpc-relay/signer, the packed file lists and manifests checked, publint and arethetypeswrong run
// over the tarballs; then a plain Node ESM project OUTSIDE the workspace installs the protocol
// tarball with npm (its zod peer comes from the registry), imports it, decodes a v1 frame, reads a
// JSON Schema file through the exports map, and type-checks against the shipped .d.ts.
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fixture, V1_EXAMPLES } from '@mpc-relay/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = join(packageDir, '..', '..');
const PUBLISHED = {
  '@mpc-relay/protocol': packageDir,
  '@mpc-relay/signer': join(repoRoot, 'packages', 'signer'),
} as const;
type Published = keyof typeof PUBLISHED;
const require = createRequire(import.meta.url);

/** A bin of one of this package's dev dependencies, run with the current node. */
function binOf(pkg: string, bin: string): string {
  const manifestPath = join(packageDir, 'node_modules', pkg, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const relative = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[bin];
  return join(manifestPath, '..', relative);
}
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
const tarballs = {} as Record<Published, string>;

async function pack(name: Published): Promise<string> {
  const destination = join(workDir, name.replace('@mpc-relay/', ''));
  mkdirSync(destination);
  const [pnpm, pnpmArgs] = pnpmCommand();
  await exec(pnpm, [...pnpmArgs, 'pack', '--pack-destination', destination], PUBLISHED[name]);
  const files = readdirSync(destination).filter((file) => file.endsWith('.tgz'));
  expect(files).toHaveLength(1);
  return join(destination, files[0] ?? '');
}

async function listing(file: string): Promise<string[]> {
  return (await exec('tar', ['-tzf', file], workDir)).split('\n').filter(Boolean);
}

async function packedManifest(file: string) {
  return JSON.parse(await exec('tar', ['-xzf', file, '-O', 'package/package.json'], workDir));
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'mpc-relay-protocol-pack-'));
  // The global setup has built this package's dist/ and schemas/; the signer's build comes from
  // turbo (`dependsOn`), or is made here when vitest runs alone.
  const signerDir = PUBLISHED['@mpc-relay/signer'];
  if (!existsSync(join(signerDir, 'dist', 'index.js'))) {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: signerDir,
      stdio: 'inherit',
    });
  }
  for (const name of Object.keys(PUBLISHED) as Published[]) tarballs[name] = await pack(name);
  tarball = tarballs['@mpc-relay/protocol'];

  consumerDir = join(workDir, 'consumer');
  mkdirSync(consumerDir);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await exec(npm, ['init', '-y'], consumerDir);
  const manifest = JSON.parse(readFileSync(join(consumerDir, 'package.json'), 'utf8'));
  writeFileSync(join(consumerDir, 'package.json'), JSON.stringify({ ...manifest, type: 'module' }, null, 2));
  await exec(npm, ['install', tarball, '--no-audit', '--no-fund', '--loglevel=error'], consumerDir);
}, TIMEOUT);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const rootManifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const rootLicense = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');

describe.each(Object.keys(PUBLISHED) as Published[])('%s tarball', (name) => {
  const directory = `packages/${name.replace('@mpc-relay/', '')}`;

  it(
    'ships dist (js + d.ts), README, CHANGELOG and the Apache-2.0 LICENSE; no tests, no node_modules',
    async () => {
      const files = await listing(tarballs[name]);
      for (const file of [
        'package.json',
        'README.md',
        'CHANGELOG.md',
        'LICENSE',
        'dist/index.js',
        'dist/index.d.ts',
      ])
        expect(files).toContain(`package/${file}`);
      expect(files.some((file) => file.startsWith('package/tests/'))).toBe(false);
      expect(files.some((file) => file.includes('/node_modules/'))).toBe(false);
      const license = await exec('tar', ['-xzf', tarballs[name], '-O', 'package/LICENSE'], workDir);
      expect(license).toBe(rootLicense);
      expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    },
    TIMEOUT,
  );

  it(
    'no two shipped names differ only by case (they would overwrite each other on macOS and Windows)',
    async () => {
      const byLowerCase = new Map<string, string[]>();
      for (const file of await listing(tarballs[name])) {
        const key = file.toLowerCase();
        byLowerCase.set(key, [...(byLowerCase.get(key) ?? []), file]);
      }
      expect([...byLowerCase.values()].filter((names) => names.length > 1)).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'a manifest ready for npm: public, metadata, zod a peer, no workspace or catalog specifiers',
    async () => {
      const manifest = await packedManifest(tarballs[name]);
      expect(manifest.name).toBe(name);
      expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(manifest.private).toBeUndefined();
      expect(manifest.type).toBe('module');
      expect(manifest.license).toBe('Apache-2.0');
      expect(manifest.publishConfig).toEqual({ access: 'public' });
      expect(manifest.repository).toEqual({ ...rootManifest.repository, directory });
      expect(manifest.homepage).toMatch(/^https:\/\//);
      expect(manifest.bugs.url).toMatch(/^https:\/\//);
      expect(manifest.description.length).toBeGreaterThan(20);
      expect(manifest.engines.node).toBe('>=20');
      expect(manifest.exports['.']).toMatchObject({ types: './dist/index.d.ts', import: './dist/index.js' });
      expect(manifest.peerDependencies.zod).toMatch(/^\^4\./);
      expect(manifest.dependencies?.zod).toBeUndefined();
      expect(JSON.stringify(manifest)).not.toMatch(/catalog:|workspace:/);
      if (name === '@mpc-relay/signer') {
        const protocol = await packedManifest(tarballs['@mpc-relay/protocol']);
        expect(manifest.dependencies['@mpc-relay/protocol']).toBe(protocol.version);
      }
    },
    TIMEOUT,
  );

  it(
    'publint (strict) finds nothing in the packed files',
    async () => {
      const extracted = join(workDir, `${name.replace('@mpc-relay/', '')}-extracted`);
      mkdirSync(extracted);
      await exec('tar', ['-xzf', tarballs[name], '-C', extracted], workDir);
      const output = await exec(
        process.execPath,
        [binOf('publint', 'publint'), join(extracted, 'package'), '--pack', 'false', '--strict'],
        workDir,
      );
      expect(output).toMatch(/All good!/);
    },
    TIMEOUT,
  );

  it(
    'arethetypeswrong (ESM-only profile) resolves every entry point to its types',
    async () => {
      const output = await exec(
        process.execPath,
        [
          binOf('@arethetypeswrong/cli', 'attw'),
          tarballs[name],
          '--profile',
          'esm-only',
          '--format',
          'ascii',
        ],
        workDir,
      );
      // attw exits non-zero on any problem the profile does not ignore (CommonJS consumers are out
      // of scope: both packages are ESM-only, and say so with "type": "module" and no require condition).
      expect(output).toMatch(/node16 \(from ESM\): 🟢/);
      expect(output).toMatch(/bundler: 🟢/);
    },
    TIMEOUT,
  );
});

describe('@mpc-relay/protocol tarball', () => {
  it(
    'ships the JSON Schema files under their lowercase names',
    async () => {
      const files = await listing(tarball);
      for (const file of [
        'client.send-server.json',
        'relay.cli-delivery.json',
        'message.full-sig.json',
        'message.walkthrough-full-sig.json',
      ])
        expect(files).toContain(`package/schemas/${file}`);
      const manifest = await packedManifest(tarball);
      expect(manifest.exports['./schemas/*']).toBe('./schemas/*');
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
import sendServerSchema from '@mpc-relay/protocol/schemas/client.send-server.json' with { type: 'json' };

const require = createRequire(import.meta.url);
const decoded = decodeClientFrame(readFileSync(new URL('./v1-frame.json', import.meta.url), 'utf8'));
const delivery = decoded.ok
  ? encodeCliDelivery({ operationType: decoded.value.operationType, from: decoded.value.sourceId, message: decoded.value.message })
  : null;
const cliDeliverySchema = require('@mpc-relay/protocol/schemas/relay.cli-delivery.json');
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
          id: 'https://mpc-relay.dev/schemas/client.send-server.json',
          required: ['action', 'sourceId', 'operationType', 'message'],
        },
        cliDeliveryTitle: 'relay.cli-delivery',
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
      const tsc = require.resolve('typescript/bin/tsc');
      await exec(process.execPath, [tsc, '-p', 'tsconfig.json'], consumerDir);
    },
    TIMEOUT,
  );
});
