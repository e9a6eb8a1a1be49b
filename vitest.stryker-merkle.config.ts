import { defineConfig, mergeConfig } from 'vitest/config';
import strykerSuite from './vitest.stryker.config.js';

/** The tests of the Merkle tree, its proofs and the witness (stryker.merkle.config.mjs). */
export default mergeConfig(
  strykerSuite,
  defineConfig({
    test: { include: ['test/merkle/**/*.test.ts', 'test/ledger/tamper.test.ts', 'test/ledger/verify-report.test.ts', 'test/ledger/checkpoint.test.ts'] },
  }),
);
