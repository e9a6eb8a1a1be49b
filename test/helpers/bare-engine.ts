import { loadBundles } from '../../src/bundles/loader.js';
import { engineConfig, type EngineConfig } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import { PolicySet } from '../../src/engine/policies.js';
import { InlineRunner } from '../../src/engine/runner.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';

export interface BareEngine {
  engine: Engine;
  /** The live set the engine resolves entrypoints in: its evaluators are the ones that run (inline, on this thread). */
  policies: PolicySet;
  ledger: SqliteLedger;
  close(): Promise<void>;
}

/**
 * An engine built from its parts on an in-memory ledger, evaluating on this thread, without usage
 * or approvals: for tests that look at the evaluators themselves, which a runtime keeps to itself.
 */
export function bareEngine(bundles: string, options: Partial<EngineConfig> = {}): BareEngine {
  const config = engineConfig(options);
  const policies = new PolicySet({ memoryInitialPages: config.memoryInitialPages, memoryMaxPages: config.memoryMaxPages });
  const ledger = new SqliteLedger(ledgerConfig(':memory:'));
  const engine = new Engine({ config, ledger, policies, runner: new InlineRunner({ maxInputBytes: config.maxInputBytes, maxDepth: config.maxDepth }) });
  engine.activate(loadBundles(bundles));
  return {
    engine,
    policies,
    ledger,
    close: async () => {
      await engine.close();
      await ledger.close();
    },
  };
}
