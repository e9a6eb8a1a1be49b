// StrykerJS mutation testing (issue 7). Run with `npm run mutate` (not part of CI).
// Incremental: results are kept in reports/stryker-incremental.json (committed), so a
// run only re-tests mutants in changed code or covered by changed tests.
// Use `nice -n 10 npm run mutate` on a shared machine.
//
// Surviving mutants judged equivalent (no behaviour can tell them apart), with why:
// - src/engine/redact.ts secretsOf `value === undefined ||` -> false: stringsIn(undefined) adds nothing,
//   so skipping the early `continue` for a missing value collects the same (empty) set of secrets.
// - src/usage/meter.ts reservation() `type !== 'model.invoke' ||` -> false: estimate() makes the same
//   check and returns undefined for any other action, so no reservation is made either way.
// - src/usage/meter.ts stringAt `typeof v === 'string' ? v : ''` -> v: every caller compares the result
//   with a model name or 'model.invoke' or uses it as a price-table key; a non-string never matches, and
//   undefined behaves as '' in `routed || asked`.
// - src/usage/versions.ts `this.epoch++` -> `--` and `(v ?? 0) + 1` -> `- 1`: versions are only compared
//   for equality with the value a snapshot read; any change, up or down, makes the snapshot stale, and a
//   counter moving one way never returns to a value it held.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  coverageAnalysis: 'perTest',
  mutate: ['src/ledger/**/*.ts', 'src/engine/**/*.ts', 'src/usage/**/*.ts'],
  // The vitest runner turns coverage off itself and runs the tests in one worker thread per test runner.
  vitest: { configFile: 'vitest.stryker.config.ts' },
  // Static mutants (module-level code) need every test for each mutant; they are few and mostly constants.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  concurrency: 2,
  // Tests start servers and SQLite files, and the machine is shared: be generous before calling a mutant a timeout.
  timeoutMS: 4_000,
  timeoutFactor: 1.25,
  dryRunTimeoutMinutes: 30,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
