// Builds the package (dist/ and schemas/) once before the tests when the build is missing or older
// than the sources, so `vitest` alone works as well as `turbo run test` (which builds first).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function newestMtime(dir: string): number {
  return Math.max(0, ...readdirSync(dir).map((name) => statSync(join(dir, name)).mtimeMs));
}

function buildIsFresh(): boolean {
  const built = [join(root, 'dist', 'index.js'), join(root, 'schemas', 'client.send-server.json')];
  if (!built.every((file) => existsSync(file))) return false;
  const builtAt = Math.min(...built.map((file) => statSync(file).mtimeMs));
  const sourcesAt = Math.max(
    newestMtime(join(root, 'src')),
    newestMtime(join(root, 'scripts')),
    statSync(join(root, 'package.json')).mtimeMs,
  );
  return builtAt >= sourcesAt;
}

export default function setup(): void {
  if (buildIsFresh()) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/emit-json-schema.mjs'], { cwd: root, stdio: 'inherit' });
}
