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
import { bucketZone, checkState, type StateCheckResult } from './state/check.js';
import { StateGuard } from './state/guard.js';
import { compareState, type StateMismatch } from './state/compare.js';
import { deriveState } from './state/derive.js';
import { stateMismatchesOffThread } from './state/off-thread.js';

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
  /** The approval and usage tables against the chain (src/state/). */
  state?: StateOptions;
}

export interface StateOptions {
  /** Rebuild tables that disagree with the chain at start (recorded in the ledger) instead of refusing to start. */
  rebuild?: boolean;
  /** How often the write protection of the state tables is checked while serving (ms; default 1000); reads check it too. */
  checkMs?: number;
  /** Called when rows written by another program were found while serving, and rebuilt from the chain. */
  onRepaired?: (result: StateCheckResult) => void;
}

/** A usage store with the usage config it meters by. */
export type ConfiguredUsageStore = UsageStore & { readonly config: UsageConfig };

export interface Core {
  engine: Engine;
  ledger: SqliteLedger;
  usage: ConfiguredUsageStore | undefined;
  /** Where shadow results are written, when shadow evaluation is on. */
  shadowSink: SqliteShadowSink | undefined;
  /** What the start-up check of the state tables against the chain found (and rebuilt, with --rebuild-state). */
  state: StateCheckResult;
  /**
   * The approval (and embedded usage) tables recomputed from the chain now: the rows that disagree
   * (AuditService.Verify). Off the event loop: a worker reads the file on a connection of its own.
   */
  verifyState(): Promise<StateMismatch[]>;
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
  let guard: StateGuard | undefined;
  try {
    // No state outside the chain decides: the tables are checked against it before anything reads them.
    const embedded = !options.usageStore && options.usage !== false ? usageConfig(options.usage ?? {}) : undefined;
    const stateUsage = () => (embedded ? { timeZone: bucketZone(ledger.db, embedded.timeZone), rollingMinutes: embedded.rollingMinutes } : undefined);
    const stateCheck = (rebuild: boolean, reason: string) => checkState(ledger, { usage: stateUsage(), rebuild, reason });
    const checked = stateCheck(options.state?.rebuild ?? false, 'started with --rebuild-state');
    const guarded = { check: () => guard?.check() };
    if (options.usageStore) usage = options.usageStore(ledger);
    else if (embedded) usage = new SqliteUsageStore(ledger.db, embedded, guarded);
    const meter = usage ? new Meter(usage, ledger, now) : undefined;
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
            store: new SqliteApprovalStore(ledger.db, guarded),
            ledger,
            config: approvalsConfig(options.approvals ?? {}),
            now,
            ...(meter ? { stagedRelease: (decisionId: string) => meter.stagedRelease(decisionId) } : {}),
            onError: (err, what) => options.logger?.error({ err }, `${what} failed`),
          });
    engine = new Engine({ config, ledger, now, ...(meter ? { meter } : {}), ...(approvals ? { approvals } : {}), ...shadow });
    engine.activate(bundles);
    approvals?.start();
    guard = new StateGuard(ledger.db, () => {
      const repaired = stateCheck(true, 'the state tables were written by another program while gavel served');
      if (repaired.mismatches.length > 0) options.state?.onRepaired?.(repaired);
    });
    guard.start(options.state?.checkMs ?? 1000, (err) => options.logger?.error({ err }, 'state check failed; state reads fail closed until it passes'));
    const built = engine;
    const stateGuard = guard;
    let verifying: Promise<StateMismatch[]> | undefined;
    return {
      engine: built,
      ledger,
      usage,
      shadowSink,
      state: checked,
      // One check at a time: callers that ask while one runs share its answer (one worker, however many ask).
      verifyState: () => {
        verifying ??= (
          options.ledger === ':memory:'
            ? Promise.resolve(compareState(ledger.db, deriveState(ledger.db), { usage: stateUsage() }))
            : stateMismatchesOffThread(options.ledger, stateUsage())
        ).finally(() => {
          verifying = undefined;
        });
        return verifying;
      },
      close: async () => {
        stateGuard.stop();
        // Workers first: nothing new reaches the ledger once it closes.
        await built.close();
        shadowSink?.close();
        await usage?.close?.();
        await ledger.close();
      },
    };
  } catch (err) {
    guard?.stop();
    void engine?.close();
    void ledger.close();
    throw err;
  }
}
