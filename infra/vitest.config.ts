import { defineConfig } from 'vitest/config';

// Each program run under mocks registers ~100 resources; on a shared, busy machine a beforeAll
// with two of them can exceed vitest's 10 s hook default.
export default defineConfig({
  test: { include: ['tests/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 60_000 },
});
