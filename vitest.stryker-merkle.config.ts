import { defineConfig } from 'vitest/config';
import strykerSuite from './vitest.stryker.config.js';

/**
 * The tests of the Merkle tree, its proofs, witnesses and erasure (stryker.merkle.config.mjs): the
 * Stryker suite's settings with these files only (set, not merged: vitest's mergeConfig would add
 * them to the suite's own include and keep its exclude of the erasure tests).
 */
export default defineConfig({
  ...strykerSuite,
  test: {
    ...strykerSuite.test,
    include: [
      'test/merkle/**/*.test.ts',
      'test/ledger/tamper.test.ts',
      'test/ledger/verify-report.test.ts',
      'test/ledger/checkpoint.test.ts',
      'test/ledger/erasure.test.ts',
      'test/ledger/header-text.test.ts',
      'test/transport/erase.test.ts',
    ],
    exclude: [],
  },
});
