import type { Logger } from 'pino';
import type { Bundle } from './bundles/bundle.js';
import { loadBundles } from './bundles/loader.js';
import { engineConfig, type EngineConfig } from './engine/config.js';
import { Engine } from './engine/engine.js';
import { ledgerConfig, type LedgerConfig } from './ledger/config.js';
import { SqliteShadowSink } from './ledger/shadow-table.js';
import { SqliteLedger, type LedgerFaults } from './ledger/sqlite.js';
import type { ShadowConfig } from './engine/shadow/shadow.js';
import { SqliteUsageStore } from './usage/sqlite.js';
import { usageConfig, type UsageConfig } from './usage/config.js';
import { Meter } from './usage/meter.js';
import type { UsageStore } from './usage/store.js';
import { ApprovalDesk } from './engine/approvals/desk.js';
import { approvalsConfig, type ApprovalsConfig } from './engine/approvals/config.js';
import { SqliteApprovalStore } from './ledger/approval-table.js';

export interface CoreOptions {
  /** Folder of *.tar.gz bundles, or one bundle file (loaded unverified), or bundles already loaded and verified. */
  bundles: string | Bundle[];
  /** SQLite file for the ledger and usage state (":memory:" in tests). */
  ledger: string;
  ledgerOptions?: Partial<Omit<LedgerConfig, 'path'>>;
  /** Test-only fault injection into the ledger's writes. */
  ledgerFaults?: LedgerFaults;
  engine?: Partial<EngineConfig>;
  /** false turns metering off (no usage context, no reservations). */
  usage?: Partial<UsageConfig> | false;
  /**
   * A usage store other than the embedded one in the ledger file (PostgreSQL, shared by replicas),
   * given the ledger it reserves for; its own config replaces `usage`. Closed with the core.
   */
  usageStore?: (ledger: SqliteLedger) => ConfiguredUsageStore;
  now?: () => Date;
  logger?: Logger;
  /** Shadow evaluation on (bundles arrive with engine.shadow.activate); results go to the ledger file's shadow table. */
  shadow?: Partial<ShadowConfig>;
  /**
   * Human approvals (on by default; state in the ledger file). false: no requests are created and
   * an input's own context.approval reaches the policy (`gavel eval` without a ledger only).
   */
  approvals?: Partial<ApprovalsConfig> | false;
}

/** A usage store with the usage config it meters by. */
export type ConfiguredUsageStore = UsageStore & { readonly config: UsageConfig };

export interface Core {
  engine: Engine;
  ledger: SqliteLedger;
  usage: ConfiguredUsageStore | undefined;
  /** Where shadow results are written, when shadow evaluation is on. */
  shadowSink: SqliteShadowSink | undefined;
  close(): Promise<void>;
}

/** The one wiring function: `gavel serve`, `gavel eval`, tests and benchmarks all build the core here. */
export function buildCore(options: CoreOptions): Core {
  const config = engineConfig(options.engine);
  const bundles = typeof options.bundles === 'string' ? loadBundles(options.bundles) : options.bundles;
  const ledger = new SqliteLedger(ledgerConfig(options.ledger, options.ledgerOptions), options.ledgerFaults ? { faults: options.ledgerFaults } : {});
  const now = options.now ?? (() => new Date());
  let usage: ConfiguredUsageStore | undefined;
  let engine: Engine | undefined;
  try {
    if (options.usageStore) usage = options.usageStore(ledger);
    else if (options.usage !== false) usage = new SqliteUsageStore(ledger.db, usageConfig(options.usage ?? {}));
    const meter = usage ? new Meter(usage) : undefined;
    const shadowSink = options.shadow ? new SqliteShadowSink(ledger.db) : undefined;
    const onDisabled = (bundle: Bundle, reason: string) =>
      options.logger?.error(
        { bundle: bundle.name, revision: bundle.revision, digest: bundle.digest, err: reason },
        'shadow bundle switched off: its evaluation stopped a worker',
      );
    const shadow = shadowSink ? { shadow: { sink: shadowSink, config: options.shadow ?? {}, onDisabled } } : {};
    const approvals =
      options.approvals === false
        ? undefined
        : new ApprovalDesk({
            store: new SqliteApprovalStore(ledger.db),
            ledger,
            config: approvalsConfig(options.approvals ?? {}),
            now,
            ...(meter ? { stagedRelease: (decisionId: string) => meter.stagedRelease(decisionId) } : {}),
            onError: (err, what) => options.logger?.error({ err }, `${what} failed`),
          });
    engine = new Engine({ config, ledger, now, ...(meter ? { meter } : {}), ...(approvals ? { approvals } : {}), ...shadow });
    engine.activate(bundles);
    approvals?.start();
    const built = engine;
    return {
      engine: built,
      ledger,
      usage,
      shadowSink,
      close: async () => {
        // Workers first: nothing new reaches the ledger once it closes.
        await built.close();
        shadowSink?.close();
        await usage?.close?.();
        await ledger.close();
      },
    };
  } catch (err) {
    void engine?.close();
    void ledger.close();
    throw err;
  }
}
