import type { Ledger } from '../engine/ledger.js';
import type { PolicyStatus } from './policy-status.js';
import type { EntryDetail, EntrySummary, QueryFilter } from './query.js';
import type { VerifyReport } from './verify.js';

/** Extra powers of a ledger that auditors can query and verify (the SQLite ledger has them). */
export interface QueryableLedger extends Ledger {
  query(filter: QueryFilter): Iterable<EntrySummary>;
  get(decisionId: string): EntryDetail | undefined;
  /** Recomputes the chain against the ledger's own key, without stalling appends. */
  verify(externalCheckpoint?: string): Promise<VerifyReport>;
  latestCheckpoint(): string | undefined;
  /** Live bundles and refusals as the ledger's policy events tell them. */
  policyStatus(): PolicyStatus;
  /** The verifier key for this ledger's checkpoints: <name>+<hex id>+<base64 key>. */
  verifierKey(): string;
}
