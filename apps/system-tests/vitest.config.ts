import { defineConfig } from 'vitest/config';

// System tests start real relays (in-process and as processes), hundreds of connections and
// fault-injecting proxies: generous bounds, one file at a time (2-core machines), never timed
// assertions.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    passWithNoTests: true,
  },
});
