import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Servers, child processes and SQLite files: keep files in separate processes, a few at a time (2 cores).
    pool: 'forks',
    maxWorkers: 2,
  },
});
