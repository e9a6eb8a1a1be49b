import { serveWriter } from '../ledger/writer-worker.js';
import { protectTables } from '../ledger/write-protect.js';
import { checkState, type StateCheckOptions, type StateCheckResult } from '../state/check.js';
import { STATE_TABLES } from '../state/guard.js';
import { REPAIR_STATE } from './ledger-thread.js';

/**
 * The runtime's ledger writer thread (ledger-writer-entry.mjs): beside appends, it repairs the state
 * tables when the state guard noticed a foreign write — checked against the chain and rebuilt in the
 * state entry's own transaction on the writing connection, then write-protected again.
 */
serveWriter({
  [REPAIR_STATE]: (ledger, args): StateCheckResult => {
    const result = checkState(ledger, { ...(args as Omit<StateCheckOptions, 'rebuild'>), rebuild: true });
    protectTables(ledger.db, STATE_TABLES);
    return result;
  },
});
