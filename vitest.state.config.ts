import { chmodSync } from 'node:fs';
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.stryker.config.js';

// Stryker's sandbox folder is private to its owner (0700); test/state/verify.test.ts runs `gavel audit verify`
// as `nobody` when run as root, which must be able to read the sources it runs.
if (process.cwd().includes('.stryker-tmp')) chmodSync(process.cwd(), 0o755);

/** The suite stryker.state.config.mjs runs against each src/state mutant. */
export default mergeConfig(
  base,
  defineConfig({
    test: { include: ['test/state/tamper.test.ts', 'test/state/verify.test.ts', 'test/state/derive-compare.test.ts', 'test/lib/canonical.test.ts'] },
  }),
);
