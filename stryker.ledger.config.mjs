// StrykerJS over src/ledger alone, with its own incremental file, so one folder's run fits in a sitting:
//   nice -n 5 npx stryker run stryker.ledger.config.mjs
// Score: npx tsx scripts/mutation-score.ts reports/mutation/ledger.json (README, "Mutation testing").
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: ['src/ledger/**/*.ts'],
  incrementalFile: 'reports/stryker-incremental-ledger.json',
  htmlReporter: { fileName: 'reports/mutation/ledger.html' },
  jsonReporter: { fileName: 'reports/mutation/ledger.json' },
};
