// StrykerJS over the Merkle tree, its proofs and the witness (issue 31), with their own tests
// (test/merkle/**, and the ledger's verify and tamper tests, which check the tree in verify.ts):
//   nice -n 5 npx stryker run stryker.merkle.config.mjs
// Score: npx tsx scripts/mutation-score.ts reports/mutation/merkle.json
import base from './stryker.config.mjs';

export default {
  ...base,
  mutate: ['src/ledger/merkle.ts', 'src/ledger/merkle-store.ts', 'src/ledger/proofs.ts', 'src/witness/**/*.ts'],
  vitest: { configFile: 'vitest.stryker-merkle.config.ts' },
  incrementalFile: 'reports/stryker-incremental-merkle.json',
  htmlReporter: { fileName: 'reports/mutation/merkle.html' },
  jsonReporter: { fileName: 'reports/mutation/merkle.json' },
};
