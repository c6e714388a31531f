// Files that README commands write into the working tree never land unignored in the repository:
// the signer's private key, the relay's data folder (its HS256 secret and access keys), aws output.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function ignored(path: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '-q', '--no-index', path], { cwd: root });
    return true;
  } catch {
    return false;
  }
}

describe('.gitignore', () => {
  it.each([
    'signer.key',
    'apps/signer/signer.key',
    'keys/cosigner.pem',
    'relay-data/jwt-secret',
    'relay-data/credentials',
    'out.json',
  ])('ignores %s', (path) => {
    expect(ignored(path)).toBe(true);
  });

  it('still tracks the sources (no pattern too broad)', () => {
    for (const path of ['README.md', 'apps/signer/src/main.ts', 'packages/protocol/package.json']) {
      expect(ignored(path), path).toBe(false);
    }
  });
});
