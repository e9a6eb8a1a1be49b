// The decision locks and approvals alone (issue 25): the code whose lock order changed, measured in one sitting.
import base from './stryker.config.mjs';
export default {
  ...base,
  mutate: ['src/engine/approvals/**/*.ts', 'src/engine/decision-locks.ts', 'src/engine/key-locks.ts', 'src/engine/pick-runner.ts'],
  incrementalFile: 'reports/stryker-incremental-locks.json',
  htmlReporter: { fileName: 'reports/mutation/locks.html' },
  jsonReporter: { fileName: 'reports/mutation/locks.json' },
};
