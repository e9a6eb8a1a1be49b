import type { EntryRecord, Ledger, Receipt } from '../../src/engine/ledger.js';

const DUMMY_HASH = '0'.repeat(64);

/**
 * BENCH-ONLY BASELINE, not a gavel feature: a Ledger that records nothing and
 * answers at once with a dummy receipt. It exists so the benchmark can show
 * what the decision path costs without the audit write; gavel itself never
 * answers a decision that was not recorded. It also keeps the last record, so
 * the ledger benchmark can append realistic records produced by the engine.
 */
export class NullLedger implements Ledger {
  private seq = 0;
  last: EntryRecord | undefined;

  append(record: EntryRecord): Promise<Receipt> {
    this.last = record;
    return Promise.resolve({ seq: ++this.seq, entryHash: DUMMY_HASH });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
