// The files issue 25 added to the decision path and the schema, measured on their own in one sitting:
// the lock order, the runner choice, the policy reference, the two column lists and the schema steps.
import base from './stryker.config.mjs';

export default {
  ...base,
  mutate: [
    'src/engine/decision-locks.ts',
    'src/engine/pick-runner.ts',
    'src/engine/policy-ref.ts',
    'src/engine/approvals/columns.ts',
    'src/engine/approvals/wire.ts',
    'src/usage/charge-columns.ts',
    'src/lib/sqlite-schema.ts',
  ],
  incrementalFile: 'reports/stryker-incremental-new-code.json',
  htmlReporter: { fileName: 'reports/mutation/new-code.html' },
  jsonReporter: { fileName: 'reports/mutation/new-code.json' },
};
