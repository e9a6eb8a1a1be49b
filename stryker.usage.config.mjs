// StrykerJS over src/usage alone, with its own incremental file, so one folder's run fits in a sitting:
//   nice -n 5 npx stryker run stryker.usage.config.mjs
// Score: npx tsx scripts/mutation-score.ts reports/mutation/usage.json (README, "Mutation testing").
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: ['src/usage/**/*.ts'],
  incrementalFile: 'reports/stryker-incremental-usage.json',
  htmlReporter: { fileName: 'reports/mutation/usage.html' },
  jsonReporter: { fileName: 'reports/mutation/usage.json' },
};
