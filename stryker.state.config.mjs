// StrykerJS over src/state (the state the chain adds up to), with its own tests only:
//   nice -n 10 npx stryker run stryker.state.config.mjs
// shared.ts is left out: its tests (test/state/shared-tamper.test.ts) reach it only in child `gavel`
// processes, which Stryker's mutant switch does not reach. guard.ts and verify-state.ts are thin wiring.
// Score and the surviving (equivalent) mutants: bench/README.md "Mutation testing".
// The sandbox is made 0700; vitest.state.config.ts opens it for test/state/verify.test.ts, which runs
// `gavel audit verify` as `nobody` when run as root.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: ['src/state/derive.ts', 'src/state/compare.ts', 'src/state/check.ts', 'src/state/rebuild.ts'],
  testFiles: ['test/state/tamper.test.ts', 'test/state/verify.test.ts', 'test/state/derive-compare.test.ts', 'test/lib/canonical.test.ts'],
  vitest: { configFile: 'vitest.state.config.ts' },
  incrementalFile: 'reports/stryker-incremental-state.json',
  concurrency: 1,
  htmlReporter: { fileName: 'reports/mutation/state.html' },
  jsonReporter: { fileName: 'reports/mutation/state.json' },
};
