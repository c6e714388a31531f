/**
 * For the CPU profile only: the handler bundles rebuilt with the very esbuild options they ship
 * with (packages/handlers/scripts/bundle-options.mjs, shared with scripts/bundle.mjs) plus a linked
 * source map, into bench/dist/profiled/. The profile can then say which package (AWS SDK, zod,
 * powertools, the handlers' own code) a sample of the minified bundle belongs to. Used only when
 * each rebuilt bundle is byte-identical to the shipped one (the source map comment aside);
 * otherwise the profile keeps the shipped bundles and lumps them together.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { handlerBundleOptions } from '../../packages/handlers/scripts/bundle-options.mjs';
import { handlersDir, listBundles, snapshotDir } from './coldstart.mjs';

export const profiledDir = join(handlersDir, '..', '..', 'bench', 'dist', 'profiled');

export async function buildProfiledBundles() {
  const require = createRequire(join(handlersDir, 'package.json'));
  const esbuild = require('esbuild');
  const names = listBundles();
  const mismatches = [];
  for (const name of names) {
    const entry = join(handlersDir, 'src', 'handlers', `${name}.ts`);
    if (!existsSync(entry)) {
      mismatches.push(`${name}: no source entry`);
      continue;
    }
    const outdir = join(profiledDir, name);
    mkdirSync(outdir, { recursive: true });
    const outfile = join(outdir, 'index.mjs');
    await esbuild.build({
      ...handlerBundleOptions(entry, outfile),
      sourcemap: 'linked',
      logLevel: 'silent',
    });
    const shipped = readFileSync(join(snapshotDir, name, 'index.mjs'), 'utf8');
    const rebuilt = readFileSync(outfile, 'utf8').replace(
      /\n\/\/# sourceMappingURL=index\.mjs\.map\n?$/,
      '\n',
    );
    if (rebuilt !== shipped) mismatches.push(name);
  }
  return { dir: profiledDir, identical: mismatches.length === 0 && names.length > 0, mismatches };
}
