import { defineConfig } from 'vitest/config';

// End-to-end tests start a real relay (dynalite + handler bundles) and child processes: generous
// bounds, never timed assertions.
export default defineConfig({
  test: { include: ['tests/**/*.test.ts'], testTimeout: 90_000, hookTimeout: 60_000 },
});
