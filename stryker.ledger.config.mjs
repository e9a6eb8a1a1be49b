// StrykerJS over src/ledger, in parts (stryker.parts.mjs):
//   GAVEL_MUTATE_PART=chain nice -n 5 npx stryker run stryker.ledger.config.mjs   (tables, writer, thread)
// Score: npx tsx scripts/mutation-score.ts reports/mutation/ledger-*.json (README, "Mutation testing").
import { partsConfig } from './stryker.parts.mjs';

export default partsConfig('ledger', {
  // What an auditor relies on: the hashes, headers, verification, checkpoints, queries and their wire form.
  chain: ['src/ledger/{verify,header,hash,checkpoint,query,timeline,wire,policy-status,reason-counts}.ts'],
  // The state tables kept in the ledger file: approvals, shadow results, the decisions replay reads; how payloads are stored.
  tables: ['src/ledger/{approval-table,shadow-table,recorded-decisions,payload-body}.ts'],
  // The Merkle tree over the entries and its proofs (issue 31; stryker.merkle.config.mjs runs it with the witness on their own tests).
  tree: ['src/ledger/{merkle,merkle-store,proofs}.ts'],
  // The writer and the file: appends and group commit, the schema, keys, the writer lock, the file's identity.
  writer: ['src/ledger/{sqlite,wal-checkpointer,writer-lock,file-identity,schema,write-protect,keys,meta,config,read-only,types,merge}.ts'],
  // Staged row writes and the writer thread's main side (writer-worker.ts runs in a worker, where the mutant switch does not reach).
  thread: ['src/ledger/{row-writes,threaded,writer-protocol}.ts'],
});
