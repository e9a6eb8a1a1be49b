import type { LedgerConfig } from '../ledger/config.js';
import type { SqliteLedger } from '../ledger/sqlite.js';
import { ThreadedLedger } from '../ledger/threaded.js';
import type { StateCheckOptions, StateCheckResult } from '../state/check.js';

/** The name the state repair goes by on the runtime's writer thread (ledger-writer.ts). */
export const REPAIR_STATE = 'repair-state';

/** Hands `ledger`'s file to the runtime's writer thread (one that can repair the state tables). */
export function threadLedger(ledger: SqliteLedger, config: LedgerConfig): Promise<ThreadedLedger> {
  return ThreadedLedger.takeOver(ledger, config, { entry: new URL('./ledger-writer-entry.mjs', import.meta.url) });
}

/**
 * Checks the state tables against the chain on the writer thread, rebuilding what disagrees
 * (recorded as a state entry), and waits for it: the read the state guard stopped goes on after.
 */
export function repairStateOn(ledger: ThreadedLedger, options: Omit<StateCheckOptions, 'rebuild'>): StateCheckResult {
  return ledger.extraNow(REPAIR_STATE, options) as StateCheckResult;
}
