import { existsSync } from 'node:fs';
import { ledgerConfig } from '../../src/ledger/config.js';
import { formatVerifierKey } from '../../src/ledger/keys.js';
import { openLedgerReadOnly } from '../../src/ledger/read-only.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { verifierKeyOfFile } from '../../src/ledger/verifier-key.js';

/** A ledger file's verifier key (`gavel audit pubkey`), the file and its key made when absent. */
export async function verifierKeyOf(path: string): Promise<string> {
  if (existsSync(path)) {
    // Read-only, as `gavel audit pubkey` reads it: the ledger may have its writer.
    const db = openLedgerReadOnly(path);
    try {
      return formatVerifierKey(verifierKeyOfFile(db, path).key!);
    } finally {
      db.close();
    }
  }
  const ledger = new SqliteLedger(ledgerConfig(path));
  try {
    return ledger.verifierKey();
  } finally {
    await ledger.close();
  }
}
