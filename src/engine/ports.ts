/**
 * The engine's ports: the interfaces it consumes, each implemented by one adapter the runtime
 * picks (src/runtime.ts). The engine imports no adapter; adapters import these.
 *
 * | port               | what the engine needs                                        | adapters                                   |
 * |--------------------|--------------------------------------------------------------|--------------------------------------------|
 * | Ledger             | append an entry of any kind (EntryRecord), with staged rows  | ledger/sqlite.ts (SqliteLedger)            |
 * | DecisionMeter      | usage context, reservation staging and release               | usage/meter.ts over usage/sqlite.ts or usage/postgres/ |
 * | ApprovalStore      | approval rows, written with the entry that records a change  | ledger/approval-table.ts, usage/postgres/approvals.ts |
 * | ShadowSink         | shadow results                                               | ledger/shadow-table.ts                     |
 * | RecordedDecisions  | recorded decisions to replay                                 | ledger/recorded-decisions.ts               |
 * | DecisionRunner     | where inputs are parsed and evaluated                        | runner.ts (this thread), pool/ (workers), adaptive-runner.ts |
 */
export type { EntryKind, EntryRecord, Ledger, Receipt, RowResult, RowWrite, SqlValue, StagedWrite } from './ledger.js';
export type { DecisionMeter } from './meter.js';
export type { ApprovalStore } from './approvals/store.js';
export type { ShadowSink } from './shadow/shadow.js';
export type { RecordedDecisions } from './replay/recorded.js';
export type { DecisionRunner } from './runner.js';
