import { join } from 'node:path';
import { afterEach } from 'vitest';
import { ledgerConfig, type LedgerConfig } from '../../src/ledger/config.js';
import { SqliteLedger, type LedgerFaults } from '../../src/ledger/sqlite.js';
import { tempDir } from '../helpers/paths.js';

type Settings = Partial<Omit<LedgerConfig, 'path'>>;

/**
 * SqliteLedgers for one test file, each closed after its test. Call once at the file's top level
 * (it registers the afterEach); `fileLedger` puts a new file in a folder of its own.
 */
export function ledgersClosedAfterEach(prefix: string) {
  const open: SqliteLedger[] = [];
  afterEach(async () => {
    for (const l of open.splice(0)) await l.close().catch(() => undefined);
  });
  const ledgerAt = (path: string, over: Settings = {}, faults?: LedgerFaults): SqliteLedger => {
    const l = new SqliteLedger(ledgerConfig(path, over), faults ? { faults } : {});
    open.push(l);
    return l;
  };
  const fileLedger = (over: Settings = {}, faults?: LedgerFaults): { ledger: SqliteLedger; path: string } => {
    const path = join(tempDir(prefix), 'ledger.db');
    return { ledger: ledgerAt(path, over, faults), path };
  };
  return { ledgerAt, fileLedger };
}
