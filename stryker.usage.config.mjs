// StrykerJS over src/usage, in parts (stryker.parts.mjs):
//   GAVEL_MUTATE_PART=meter nice -n 5 npx stryker run stryker.usage.config.mjs   (reservations, history, embedded-store, shared-store, shared-claims, shared-approvals)
// Score: npx tsx scripts/mutation-score.ts reports/mutation/usage-*.json (README, "Mutation testing").
import { partsConfig } from './stryker.parts.mjs';

export default partsConfig('usage', {
  // Estimates, prices, windows, reports and the column list: what a budget adds up to.
  meter: ['src/usage/*.ts', '!src/usage/{sqlite,live-reservations,request-history,buckets,key-reservations}.ts'],
  // The in-memory state beside the embedded store, in two parts that each fit in a sitting.
  reservations: ['src/usage/{live-reservations,key-reservations}.ts'],
  history: ['src/usage/{request-history,buckets}.ts'],
  // The embedded store in the ledger file (its rows, staged writes, settlements and releases).
  'embedded-store': ['src/usage/sqlite.ts'],
  // The PostgreSQL store shared by replicas, in three parts (each of its tests starts a PostgreSQL server):
  // its usage rows, request claims and history: store.ts in two halves by line (up to its request ids'
  // receipts, then the rest) ...
  'shared-store': ['src/usage/postgres/store.ts:1-463'],
  'shared-claims': ['src/usage/postgres/store.ts:464-931', 'src/usage/postgres/{sql,history-cache,failure,health,row-signer}.ts'],
  // ... and its approvals, schema and migrations, config.
  'shared-approvals': ['src/usage/postgres/{approvals,schema,config}.ts'],
});
