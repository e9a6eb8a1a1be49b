import { ledgerConfig } from '../ledger/config.js';
import type { ErasureRequest, ErasureResult } from '../ledger/erasure.js';
import { SqliteLedger } from '../ledger/sqlite.js';

/** A ledger file no server holds, and the key that signs its entries when it is not `<file>.key`. */
export interface LedgerFile {
  path: string;
  keyPath?: string;
}

/**
 * Erases from a ledger file no server holds (`gavel audit erase`): its writer opened here, as the runtime opens
 * every adapter, taking the file's writer lock. An erasure entry covers at most 10,000 seqs, so a subject or a
 * time may take several; a decision is one entry's worth. The results, one per entry that erased something.
 */
export async function eraseInFile(file: LedgerFile, request: ErasureRequest): Promise<ErasureResult[]> {
  const ledger = new SqliteLedger(ledgerConfig(file.path, file.keyPath ? { keyPath: file.keyPath } : {}));
  const results: ErasureResult[] = [];
  try {
    for (;;) {
      const r = await ledger.erase(request);
      if (r.erased > 0) results.push(r);
      if (r.erased === 0 || 'decision' in request.criteria) return results;
    }
  } finally {
    await ledger.close();
  }
}
