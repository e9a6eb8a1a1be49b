import { defineConfig } from 'vitest/config';

/** In a checkout, the workspace packages resolve to their TypeScript source (the "gavel-source" export condition), not dist/. */
const conditions = ['gavel-source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Servers, child processes and SQLite files: keep files in separate processes, a few at a time (2 cores).
    pool: 'forks',
    maxWorkers: 2,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts', 'packages/*/src/**/*.ts'],
      exclude: ['src/types/**', 'packages/*/src/gen/**'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      // Lines run in this process only: the CLI and `gavel serve` children are tested end to end but not counted.
      thresholds: { lines: 80, branches: 65 },
    },
  },
});
