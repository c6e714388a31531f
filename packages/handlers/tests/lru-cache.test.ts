import { describe, expect, it } from 'vitest';
import LRUCache from '../src/aws/lru-cache.js';

// The bundles' stand-in for mnemonist/lru-cache (the DynamoDB client's endpoint-discovery cache).
describe('LRUCache (bundled in place of mnemonist/lru-cache)', () => {
  it('evicts the least recently used entry past its capacity; get refreshes, peek does not', () => {
    const cache = new LRUCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3); // evicts b
    expect(cache.has('b')).toBe(false);
    expect(cache.peek('a')).toBe(1);
    expect(cache.peek('c')).toBe(3);
    cache.peek('a'); // does not refresh a
    cache.get('c');
    cache.set('d', 4); // evicts a
    expect([cache.has('a'), cache.has('c'), cache.has('d')]).toEqual([false, true, true]);
    expect(cache.size).toBe(2);
  });

  it('overwrites in place, deletes, clears, and refuses a capacity below 1', () => {
    const cache = new LRUCache<string, number[]>(1000);
    cache.set('k', [1]);
    cache.set('k', []);
    expect(cache.get('k')).toEqual([]);
    expect(cache.size).toBe(1);
    expect(cache.get('missing')).toBeUndefined();
    expect(cache.delete('k')).toBe(true);
    cache.set('x', [2]);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(() => new LRUCache(0)).toThrow('capacity');
  });
});
