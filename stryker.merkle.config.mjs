// StrykerJS over the Merkle tree, its proofs, witnesses (both sides) and signed erasure (issue 31),
// with their own tests (test/merkle/**, the ledger's verify, tamper and erasure tests, Erase over gRPC):
//   nice -n 5 npx stryker run stryker.merkle.config.mjs
// Score: npx tsx scripts/mutation-score.ts reports/mutation/merkle.json
import base from './stryker.config.mjs';

export default {
  ...base,
  mutate: [
    'src/ledger/merkle.ts',
    'src/ledger/merkle-store.ts',
    'src/ledger/proofs.ts',
    'src/witness/**/*.ts',
    'src/ledger/cosignature.ts',
    'src/ledger/cosignature-table.ts',
    'src/ledger/erasure.ts',
    'src/runtime/witnesses.ts',
    'src/runtime/retention.ts',
  ],
  vitest: { configFile: 'vitest.stryker-merkle.config.ts' },
  incrementalFile: 'reports/stryker-incremental-merkle.json',
  htmlReporter: { fileName: 'reports/mutation/merkle.html' },
  jsonReporter: { fileName: 'reports/mutation/merkle.json' },
};
