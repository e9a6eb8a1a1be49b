import { defineConfig } from 'vitest/config';

/**
 * The suite Stryker runs against each mutant: the in-process tests of the engine,
 * ledger and usage. Tests that spawn `gavel` child processes (CLI, crash, shutdown)
 * are left out: they take a second or more each, which made a full mutation run
 * take many hours, and the code they reach in-process is exercised here too. The
 * one-writer and vanished-ledger tests stay: only they reach the writer lock and
 * the key check, and they run only for the mutants they cover.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [
      'test/cli/**',
      'test/ledger/crash.test.ts',
      'test/ledger/query.test.ts',
      'test/ledger/checkpoint.test.ts',
      'test/ledger/erasure.test.ts',
      'test/failclosed/shutdown.test.ts',
      'test/transport/metrics.test.ts',
      // Child processes only (opa build, gavel serve replicas, the replay CLI, worker-count and runtime wiring checks).
      'test/bundles/build-policies.test.ts',
      'test/usage/replicas.test.ts',
      'test/replay/replay-cli.test.ts',
      'test/transport/serve-workers.test.ts',
      'test/state/shared-tamper.test.ts',
      'test/runtime.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
