import type { Logger } from 'pino';
import type { Bundle } from '../bundles/bundle.js';
import type { BundleSourcesConfig, DeliveryConfig } from '../delivery/sources.js';
import type { ApprovalsConfig } from '../engine/approvals/config.js';
import type { EngineConfig } from '../engine/config.js';
import type { LedgerConfig } from '../ledger/config.js';
import type { LedgerFaults } from '../ledger/sqlite.js';
import type { StateCheckResult } from '../state/check.js';
import type { UsageConfig } from '../usage/config.js';
import type { WitnessesConfig } from './witnesses.js';
import type { RetentionConfig } from './retention.js';
import type { PostgresUsageConfig } from '../usage/postgres/config.js';

/**
 * Everything a running gavel is built from, whoever starts it (`gavel serve`, `gavel eval`, tests,
 * benches). Each part's own config module fills in its defaults and validates it.
 */
export interface RuntimeConfig {
  /** The live bundles: a folder (or one bundle file), bundles already loaded, or folder + URLs (+ watching). */
  bundles: string | Bundle[] | BundleSourcesConfig;
  /** Verification, token, polling and cache shared by every bundle source (live and shadow). */
  delivery?: DeliveryConfig;
  /** Shadow evaluation on (results in the ledger file's shadow table): candidate sources and the queue bound. */
  shadow?: BundleSourcesConfig & { queue?: number };
  /** SQLite file for the ledger and embedded state (":memory:" in tests). */
  ledger: string;
  ledgerOptions?: Partial<Omit<LedgerConfig, 'path'>>;
  /**
   * Test-only fault injection into the ledger's writes. Its hooks are functions, which cannot cross to
   * a writer thread: given, the ledger is written on the serving thread (ledger.thread true is refused).
   */
  ledgerFaults?: LedgerFaults;
  engine?: Partial<EngineConfig>;
  /** false turns metering off (no usage context, no reservations). */
  usage?: Partial<UsageConfig> | false;
  /** Usage shared by replicas in PostgreSQL instead of the ledger file (its url and pool); `usage` still sets the windows. */
  usageStore?: Partial<PostgresUsageConfig> & {
    url: string;
    stateCheckSeconds?: number;
    /** The other replicas' ledger verifier keys (`gavel audit pubkey`): shared approval rows they sign are honoured. */
    peerKeys?: string[];
  };
  /**
   * Human approvals (on by default; state in the ledger file). false: no requests are created and
   * an input's own context.approval reaches the policy (`gavel eval` without a ledger only).
   */
  approvals?: Partial<ApprovalsConfig> | false;
  /** The approval and usage tables against the chain (src/state/). */
  state?: StateOptions;
  /**
   * Record the start set in the ledger as policy events (activated; deactivated for bundles live at the last
   * write but not in this set), as a server does (`gavel serve`). Default false: `gavel eval` and in-process
   * harnesses decide without serving a policy.
   */
  recordStart?: boolean;
  /** Payload retention (`--retain-payloads`): erased on a schedule, each step an erasure entry (runtime/retention.ts). */
  retention?: RetentionConfig;
  /** Witnesses each new checkpoint is sent to (runtime/witnesses.ts); their cosignatures are kept in the ledger file. */
  witnesses?: WitnessesConfig;
  now?: () => Date;
  logger?: Logger;
}

export interface StateOptions {
  /** Rebuild tables that disagree with the chain at start (recorded in the ledger) instead of refusing to start. */
  rebuild?: boolean;
  /** How often the write protection of the state tables is checked while serving (ms; default 1000); reads check it too. */
  checkMs?: number;
  /** Called when rows written by another program were found while serving, and rebuilt from the chain. */
  onRepaired?: (result: StateCheckResult) => void;
}
