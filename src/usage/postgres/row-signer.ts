/**
 * How the rows replicas share are vouched for (approvals.ts, and request ids in store.ts): a replica
 * signs what it writes with its ledger key, and a row is honoured only with a valid signature by a
 * replica whose key this one is configured with (runtime/replica-signer.ts builds it).
 */
export interface RowSigner {
  /** This replica's signature over a row's signed text. */
  sign(body: string): string;
  /** True when `sig` is a valid signature of `body` by the replica whose ledger is `ledgerId` (its key configured here). */
  verify(ledgerId: string, body: string, sig: string): boolean;
}
