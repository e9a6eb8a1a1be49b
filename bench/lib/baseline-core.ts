import type Database from 'better-sqlite3';
import { loadBundles } from '../../src/bundles/loader.js';
import { engineConfig } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import { pickRunner } from '../../src/engine/pick-runner.js';
import { PolicySet } from '../../src/engine/policies.js';
import { openDatabase } from '../../src/ledger/sqlite.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { usageConfig } from '../../src/usage/config.js';
import { Meter } from '../../src/usage/meter.js';
import { SqliteUsageStore } from '../../src/usage/sqlite.js';
import { NullLedger } from './null-ledger.js';

export interface BaselineCore {
  engine: Engine;
  ledger: NullLedger;
  close(): void;
}

/**
 * BENCH-ONLY: the same wiring as startRuntime (src/runtime.ts), except that the
 * ledger is the no-op NullLedger. startRuntime always builds a SqliteLedger, as it
 * should, so the "ledger off" baseline has to be wired here. With usage on, the
 * usage store gets its own SQLite file opened exactly as the ledger opens its
 * file (WAL, synchronous=NORMAL), so only the audit write differs from the real core.
 */
export function buildBaselineCore(bundles: string, usageFile: string | undefined, ledger = new NullLedger()): BaselineCore {
  let db: Database.Database | undefined;
  let meter: Meter | undefined;
  if (usageFile !== undefined) {
    db = openDatabase(ledgerConfig(usageFile));
    meter = new Meter(new SqliteUsageStore(db, usageConfig()), ledger);
  }
  const config = engineConfig();
  const policies = new PolicySet({ memoryInitialPages: config.memoryInitialPages, memoryMaxPages: config.memoryMaxPages });
  const engine = new Engine({ config, ledger, policies, runner: pickRunner(config).runner, ...(meter ? { meter } : {}) });
  engine.activate(loadBundles(bundles));
  return { engine, ledger, close: () => db?.close() };
}
