// StrykerJS over src/engine alone, with its own incremental file, so one folder's run fits in a sitting:
//   nice -n 5 npx stryker run stryker.engine.config.mjs
// Score: npx tsx scripts/mutation-score.ts reports/mutation/engine.json (README, "Mutation testing").
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: ['src/engine/**/*.ts'],
  incrementalFile: 'reports/stryker-incremental-engine.json',
  htmlReporter: { fileName: 'reports/mutation/engine.html' },
  jsonReporter: { fileName: 'reports/mutation/engine.json' },
};
