// Libraries under packages/* never depend on an app under apps/*: apps are built from packages, and
// a package that needs an app (even only for its tests) drags the app's build, dependencies and
// release into the package's own. Tests that need an app live in that app or in apps/system-tests.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];

interface Manifest {
  name: string;
  [field: string]: unknown;
}

function manifests(folder: string): { path: string; manifest: Manifest }[] {
  return readdirSync(join(root, folder), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(folder, entry.name, 'package.json'))
    .filter((path) => existsSync(join(root, path)))
    .map((path) => ({ path, manifest: JSON.parse(readFileSync(join(root, path), 'utf8')) as Manifest }));
}

/** `field: name@spec` for each dependency on an app, by name or by a path into apps/. */
function dependenciesOnApps(manifest: Manifest, appNames: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const field of DEPENDENCY_FIELDS) {
    const dependencies = (manifest[field] ?? {}) as Record<string, string>;
    for (const [name, spec] of Object.entries(dependencies)) {
      if (appNames.has(name) || /(^|[:/])apps\//.test(spec)) found.push(`${field}: ${name}@${spec}`);
    }
  }
  return found;
}

describe('packages do not depend on apps', () => {
  const apps = manifests('apps');
  const appNames = new Set(apps.map(({ manifest }) => manifest.name));

  it('reads the workspace', () => {
    expect(appNames).toContain('@mpc-relay/relay');
    expect(manifests('packages').map(({ manifest }) => manifest.name)).toContain('@mpc-relay/signer');
  });

  it.each(manifests('packages'))('$path names no app', ({ manifest }) => {
    expect(dependenciesOnApps(manifest, appNames)).toEqual([]);
  });

  it('the check finds a dependency on an app, by name or by path', () => {
    const offender = {
      name: '@mpc-relay/example',
      dependencies: { '@mpc-relay/protocol': 'workspace:*' },
      devDependencies: { '@mpc-relay/relay': 'workspace:*', sim: 'link:../../apps/mpc-sim' },
    };
    expect(dependenciesOnApps(offender, appNames)).toEqual([
      'devDependencies: @mpc-relay/relay@workspace:*',
      'devDependencies: sim@link:../../apps/mpc-sim',
    ]);
  });
});
