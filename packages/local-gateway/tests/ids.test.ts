import { describe, expect, it } from 'vitest';
import { awsLikeId, requestTime } from '../src/ids.js';

describe('ids', () => {
  it('awsLikeId: 16 url-safe characters ending in =, never repeated across refills of its pool', () => {
    const ids = Array.from({ length: 2000 }, () => awsLikeId());
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('requestTime: API Gateway format of the given second, whatever order the times come in', () => {
    const t = Date.UTC(2019, 1, 9, 12, 34, 56, 100);
    expect(requestTime(t)).toBe('09/Feb/2019:12:34:56 +0000');
    expect(requestTime(t + 800)).toBe('09/Feb/2019:12:34:56 +0000');
    expect(requestTime(t + 900)).toBe('09/Feb/2019:12:34:57 +0000');
    expect(requestTime(t - 200)).toBe('09/Feb/2019:12:34:55 +0000');
    expect(requestTime(Date.UTC(2026, 11, 31, 23, 59, 59))).toBe('31/Dec/2026:23:59:59 +0000');
  });
});
