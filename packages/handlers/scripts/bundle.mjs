// One esbuild bundle per handler of the route table: dist/<handler>/index.mjs (ESM, Node 22,
// minified, AWS SDK v3 bundled and tree-shaken: the versions pinned in package.json ship, not the
// Lambda runtime's copy). Prints a size report (raw + gzip) and writes dist/bundle-report.json.
// Runs after `tsc -p tsconfig.build.json`, which emits dist/lib (the route table is read from it).
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BUNDLE_TARGET, handlerBundleOptions } from './bundle-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { HANDLER_NAMES } = await import(join(root, 'dist/lib/routes.js'));

const report = { generatedAt: new Date().toISOString(), target: BUNDLE_TARGET, bundles: {} };

for (const name of HANDLER_NAMES) {
  const entry = join(root, 'src/handlers', `${name}.ts`);
  if (!existsSync(entry)) throw new Error(`handler ${name} has no entry point at ${relative(root, entry)}`);
  const outdir = join(root, 'dist', name);
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const outfile = join(outdir, 'index.mjs');
  const result = await build({
    ...handlerBundleOptions(entry, outfile),
    metafile: true,
    logLevel: 'warning',
  });
  const code = await readFile(outfile);
  const inputs = Object.entries(result.metafile.outputs[relative(process.cwd(), outfile)]?.inputs ?? {});
  const packages = {};
  // Folders each package was bundled from: two means two copies (e.g. two versions of one package).
  const copies = {};
  for (const [path, info] of inputs) {
    const match = path.match(/(.*node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?)((?:@[^/]+\/)?[^/]+)/);
    const key = match ? match[2] : 'src';
    packages[key] = (packages[key] ?? 0) + info.bytesInOutput;
    if (match && info.bytesInOutput > 0) {
      copies[key] ??= new Set();
      copies[key].add(`${match[1]}${match[2]}`);
    }
  }
  const duplicatePackages = Object.fromEntries(
    Object.entries(copies)
      .filter(([, folders]) => folders.size > 1)
      .map(([key, folders]) => [key, [...folders].map((folder) => relative(root, resolve(folder))).sort()]),
  );
  report.bundles[name] = {
    file: relative(root, outfile),
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    largestPackages: Object.fromEntries(
      Object.entries(packages)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6),
    ),
    duplicatePackages,
  };
}

await writeFile(join(root, 'dist/bundle-report.json'), `${JSON.stringify(report, null, 2)}\n`);

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log('handler bundles (dist/<handler>/index.mjs):');
console.log(`${'handler'.padEnd(18)}${'raw'.padStart(12)}${'gzip'.padStart(12)}`);
for (const [name, info] of Object.entries(report.bundles)) {
  console.log(`${name.padEnd(18)}${kb(info.bytes).padStart(12)}${kb(info.gzipBytes).padStart(12)}`);
}
for (const [name, info] of Object.entries(report.bundles)) {
  for (const [key, folders] of Object.entries(info.duplicatePackages)) {
    console.warn(`warning: ${name} bundles ${folders.length} copies of ${key}: ${folders.join(', ')}`);
  }
}
console.log('report: dist/bundle-report.json');
