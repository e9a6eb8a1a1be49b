import { defineConfig } from 'vitest/config';
import FastFirstSequencer from './test/helpers/fast-first-sequencer.js';

/**
 * The suite Stryker runs against each mutant: the in-process tests of the engine,
 * ledger and usage. Stryker and coverage see only this process, so a test that only
 * drives `gavel` (or opa, or a replica) as a child process kills no mutant; it takes
 * a second or more, which made a full mutation run take many hours, and one timing
 * out under load fails the dry run. The files below are left out: every test in them
 * spawns, or (CLI, query, runtime) what they reach in-process is exercised here too
 * (runtime's in-process test reads source text). Files mixing in-process tests with
 * spawning ones stay, since their in-process tests are the only ones to reach
 * something; a test runs only for the mutants it covers in this process, so one that
 * only spawns runs in the dry run alone: one-writer and vanished-ledger (the
 * writer lock, the key check), checkpoint (a failed periodic checkpoint is retried),
 * tamper and header-v1-compat (verification in-process; a version-1 ledger), bounds,
 * live-activation, hostile-bundles-server, policy-events, shadow and state/verify.
 * The PostgreSQL tests start a server (test/helpers/postgres.ts) but are the store's
 * only tests, in-process: they stay.
 *
 * GAVEL_STRYKER_TESTS (comma-separated globs) narrows the suite to the tests that reach one part, for a
 * quicker run whose score is a lower bound of the whole suite's: a mutant that part's tests kill, the
 * whole suite kills too (the README's table says which rows were measured so).
 */
export default defineConfig({
  test: {
    include: process.env.GAVEL_STRYKER_TESTS?.split(',') ?? ['test/**/*.test.ts'],
    exclude: [
      'test/cli/**',
      'test/ledger/crash.test.ts',
      'test/ledger/query.test.ts',
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
      // The README's examples, run as the Node, Python and Go programs they are.
      'test/examples/**',
      // The console in Chromium against a gavel serve child (its in-process tests are test/console/console-http.test.ts).
      'test/console/browser.test.ts',
      // The decision-log exporter (src/transport, not mutated) against an HTTP collector: its timed pushes time out in Stryker's sandbox.
      'test/decision-log/export.test.ts',
    ],
    // Quickest files first: a killed mutant stops at the first failing test (Stryker bails).
    sequence: { sequencer: FastFirstSequencer },
    testTimeout: 30_000,
    // A few tests time evaluations (the adaptive runner's inlineSlowMs): one that fails under the load of
    // Stryker's two runners fails the dry run, and the whole part with it. A mutant that breaks a test
    // still fails every try.
    retry: 2,
    hookTimeout: 30_000,
  },
});
