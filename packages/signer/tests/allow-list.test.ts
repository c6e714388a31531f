/** Which mpcs a co-signer signs for: the list, the token's peers claim, both, or explicitly any. */
import { describe, expect, it } from 'vitest';
import { buildAllowList, parseAllowList, peersClaim } from '../src/index.js';

const jwt = (payload: unknown) =>
  ['{"alg":"HS256"}', JSON.stringify(payload), 'sig']
    .map((part, i) => (i < 2 ? Buffer.from(part).toString('base64url') : part))
    .join('.');

describe('allow-list', () => {
  it('parses a comma-separated list and refuses an invalid id', () => {
    expect(parseAllowList(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(() => parseAllowList('a,b c')).toThrow(/invalid mpc id "b c"/);
  });

  it('reads the peers claim of a JWT (array), not of anything else', () => {
    expect(peersClaim(jwt({ sub: 'cli:c1', peers: ['m1', 'm2'] }))).toEqual(['m1', 'm2']);
    expect(peersClaim(jwt({ sub: 'cli:c1' }))).toBeUndefined();
    expect(peersClaim('Allow')).toBeUndefined();
  });

  it('list, claim, both (an mpc must be on both), none (refused unless any)', () => {
    expect(buildAllowList({ list: ['m1'] }).allows('m1')).toBe(true);
    expect(buildAllowList({ list: ['m1'] }).allows('m2')).toBe(false);
    expect(buildAllowList({ token: jwt({ peers: ['m2'] }) }).allows('m2')).toBe(true);
    const both = buildAllowList({ list: ['m1', 'm2'], token: jwt({ peers: ['m2', 'm3'] }) });
    expect([both.allows('m1'), both.allows('m2'), both.allows('m3')]).toEqual([false, true, false]);
    expect(() => buildAllowList({ token: 'Allow' })).toThrow(/--allow-any-mpc/);
    expect(buildAllowList({ allowAny: true })).toMatchObject({ any: true });
  });
});
