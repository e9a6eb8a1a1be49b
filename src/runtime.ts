import pino from 'pino';
import type { Bundle } from './bundles/bundle.js';
import type { BundleVerification } from './bundles/verification-keys.js';
import type { BundleSet } from './delivery/bundle-set.js';
import { described, liveBundleSet } from './delivery/live.js';
import { shadowBundleSet } from './delivery/shadow.js';
import { loadSources, type BundleSourcesConfig, type LoadedSources } from './delivery/sources.js';
import { ApprovalDesk } from './engine/approvals/desk.js';
import { approvalsConfig } from './engine/approvals/config.js';
import { engineConfig } from './engine/config.js';
import { Engine } from './engine/engine.js';
import { pickRunner } from './engine/pick-runner.js';
import { PolicySet } from './engine/policies.js';
import type { PolicyEventResult } from './engine/policy-event.js';
import { Shadow, shadowConfig } from './engine/shadow/shadow.js';
import { SqliteApprovalStore } from './ledger/approval-table.js';
import { approvalEnded } from './ledger/query.js';
import { ledgerConfig } from './ledger/config.js';
import { SqliteShadowSink } from './ledger/shadow-table.js';
import { SqliteLedger } from './ledger/sqlite.js';
import { protectTables } from './ledger/write-protect.js';
import { ThreadedLedger } from './ledger/threaded.js';
import type { ServedLedger } from './ledger/types.js';
import { repairStateOn, threadLedger } from './runtime/ledger-thread.js';
import { witnessRequirement } from './ledger/cosignature.js';
import { wireVerifyReport } from './ledger/wire.js';
import { checkpointAt, consistencyProofOf, type EntryRef, type InclusionProofBundle, inclusionProofOf } from './ledger/proofs.js';
import { identityForm } from './lib/identity-form.js';
import { closedOnFailure, GavelError } from './lib/errors.js';
import type { RuntimeConfig } from './runtime/config.js';
import type {
  ApprovalsFace,
  AuditFace,
  DecideFace,
  DecideLimits,
  HealthFace,
  OfflineFace,
  PoliciesFace,
  ReportFace,
  RuntimeStats,
  ShadowFace,
  WitnessRequirement,
} from './runtime/faces.js';
import { RuntimeHealth } from './runtime/health.js';
import { WitnessSubmitter } from './runtime/witnesses.js';
import { RetentionSweeper } from './runtime/retention.js';
import { checkpointInfo, ledgerView } from './runtime/ledger-view.js';
import { replays } from './runtime/replay.js';
import { attachShared, openSharedUsage, reconcileSharedUsage } from './runtime/shared-usage.js';
import { bucketZone, checkState, mismatchSummary, type StateCheckResult } from './state/check.js';
import { compareState, type StateMismatch } from './state/compare.js';
import { deriveState } from './state/derive.js';
import { STATE_TABLES, StateGuard } from './state/guard.js';
import { stateMismatchesOffThread } from './state/off-thread.js';
import { withState } from './state/verify-state.js';
import { usageConfig, type UsageConfig } from './usage/config.js';
import { Meter } from './usage/meter.js';
import { applyReport } from './usage/report.js';
import { SqliteUsageStore } from './usage/sqlite.js';
import type { UsageStore } from './usage/store.js';

export type { RuntimeConfig, StateOptions } from './runtime/config.js';

/** A usage store with the usage config it meters by. */
export type ConfiguredUsageStore = UsageStore & { readonly config: UsageConfig };

/**
 * A running gavel: the one object that owns the engine, the ledger, usage and approvals, and policy
 * delivery. Edges (gRPC, the CLI) use its faces; `stop()` ends everything in order.
 */
export interface Runtime {
  decide: DecideFace;
  /** Decisions an enforcement point made while gavel was unreachable, recorded once each as `offline` entries. */
  recordOffline: OfflineFace;
  /** Usage reports and totals; undefined without metering. */
  report: ReportFace | undefined;
  audit: AuditFace;
  /** Undefined when approvals are off (`gavel eval` without a ledger). */
  approvals: ApprovalsFace | undefined;
  policies: PoliciesFace;
  health: HealthFace;
  stats: RuntimeStats;
  limits: DecideLimits;
  /** What the start-up check of the state tables against the chain found (and rebuilt, with rebuild). */
  state: StateCheckResult;
  /**
   * The parts themselves, for tests and benches that look inside (tables, worker counts). No edge
   * uses them: test/runtime.test.ts checks that nothing in src/ outside runtime.ts reads `parts`.
   */
  parts: RuntimeParts;
  /** Ordered: delivery, workers, shadow rows, usage store, then the ledger (its final checkpoint). */
  stop(): Promise<void>;
}

export interface RuntimeParts {
  engine: Engine;
  ledger: ServedLedger;
  usage: ConfiguredUsageStore | undefined;
  approvals: ApprovalDesk | undefined;
  shadow: Shadow | undefined;
  shadowSink: SqliteShadowSink | undefined;
}

function sourcesOf(bundles: RuntimeConfig['bundles']): BundleSourcesConfig {
  return typeof bundles === 'string' || Array.isArray(bundles) ? { folder: bundles } : bundles;
}

/** How often watched shared approvals are read while their LISTEN connection is down. */
const APPROVAL_POLL_MS = 1000;

/**
 * Starts gavel: loads the live (and shadow) bundles, opens the shared usage store, opens the ledger
 * and checks the state tables against its chain, builds usage, approvals and the engine, records the
 * start set as policy events, starts live and shadow delivery and the evaluation workers. The one
 * wiring place: `gavel serve`, `gavel eval`, tests and benches all start here.
 */
/** Checkpoints signed because a proof asked for one: at most one a second, so callers cannot make the ledger sign per request. */
const ON_DEMAND_CHECKPOINT_MS = 1000;

/**
 * An entry's inclusion proof on the running ledger: with no size asked, a checkpoint is signed first
 * when none covers the entry yet (`signNow` says whether one may be, now).
 */
async function proveIncluded(ledger: ServedLedger, ref: EntryRef, treeSize: number | undefined, signNow: () => boolean): Promise<InclusionProofBundle> {
  if (treeSize) return inclusionProofOf(ledger.db, ref, checkpointAt(ledger.db, treeSize));
  try {
    return inclusionProofOf(ledger.db, ref);
  } catch (err) {
    if (!(err instanceof GavelError) || err.code !== 'proof_unavailable') throw err;
    if (!signNow()) throw new GavelError('proof_unavailable', `${err.message}; a checkpoint is signed on request at most once a second: retry in a moment`);
    await ledger.checkpoint();
    return inclusionProofOf(ledger.db, ref);
  }
}

export async function startRuntime(config: RuntimeConfig): Promise<Runtime> {
  const log = config.logger ?? pino({ level: 'silent' });
  const now = config.now ?? (() => new Date());
  const delivery = config.delivery ?? {};
  const liveSources = sourcesOf(config.bundles);
  // Verified before anything is built: a bundle that fails verification at start fails closed.
  const live = await loadSources(liveSources, delivery, log, true);
  const shadowOn = config.shadow !== undefined;
  const shadowSources = config.shadow ? await loadSources(config.shadow, delivery, log, false) : undefined;
  const metered = config.usage !== false;
  if (!metered && config.usageStore) log.warn('--usage-store is not used with --no-metering: nothing is metered');
  const usageSettings = metered ? usageConfig(config.usage || {}) : undefined;
  if (usageSettings?.rebuildTimeZone && config.usageStore)
    log.warn('--rebuild-usage-time-zone is not used with --usage-store: replicas sharing it keep one --time-zone');
  // Every setting is checked before anything opens: a refused start holds nothing.
  const engineSettings = engineConfig(config.engine);
  const ledgerSettings = ledgerConfig(config.ledger, config.ledgerOptions);
  if (config.ledgerFaults && config.ledgerOptions?.thread === true)
    throw new GavelError('config_invalid', 'config ledger.thread: ledger faults are hooks into a ledger written on the serving thread');
  const threaded = ledgerSettings.thread;
  const shared = usageSettings && config.usageStore ? await openSharedUsage(config.usageStore, usageSettings, log) : undefined;

  let opened: SqliteLedger;
  try {
    opened = new SqliteLedger(ledgerSettings, config.ledgerFaults ? { faults: config.ledgerFaults } : {});
  } catch (err) {
    // The shared store's pool would keep the process alive after a refused start.
    await shared?.close();
    throw err;
  }
  const picked = pickRunner(engineSettings);
  let guard: StateGuard | undefined;
  let engine: Engine | undefined;
  const stops: Array<() => void> = [];
  let witnesses: WitnessSubmitter | undefined;
  let retention: RetentionSweeper | undefined;
  // Until the writer thread takes over (ledger.thread), the ledger written on this connection.
  let ledger: ServedLedger = opened;
  try {
    // No state outside the chain decides: the tables are checked against it before anything reads them.
    const embedded = !shared ? usageSettings : undefined;
    const db = opened.db;
    const stateUsage = () => (embedded ? { timeZone: bucketZone(db, embedded.timeZone), rollingMinutes: embedded.rollingMinutes } : undefined);
    const checked = checkState(opened, { usage: stateUsage(), rebuild: config.state?.rebuild ?? false, reason: 'started with --rebuild-state' });
    const guarded = { check: () => guard?.check() };
    // The stores make their tables here, while this connection still writes.
    const usage: ConfiguredUsageStore | undefined = shared
      ? attachShared(shared, opened, config.usageStore?.peerKeys ?? [])
      : embedded
        ? new SqliteUsageStore(db, embedded, guarded, now().getTime())
        : undefined;
    // Its rows go to the ledger's writer, whichever thread that is once the start is done.
    const shadowSink = shadowOn ? new SqliteShadowSink(db, (writes) => ledger.writeRows(writes)) : undefined;
    const approvalTable = config.approvals === false || shared ? undefined : new SqliteApprovalStore(db, guarded);
    // Protected while this connection still writes; the writer thread's own opening moves the schema
    // cookie (its statistics), so the guard starts from after it.
    protectTables(db, STATE_TABLES);
    if (threaded) ledger = await threadLedger(opened, ledgerSettings);
    const repairReason = 'the state tables were written by another program while gavel served';
    guard = new StateGuard(db, () => {
      const options = { usage: stateUsage(), reason: repairReason };
      const repaired = ledger instanceof ThreadedLedger ? repairStateOn(ledger, options) : checkState(opened, { ...options, rebuild: true });
      if (repaired.mismatches.length > 0) config.state?.onRepaired?.(repaired);
    });
    const meter = usage ? new Meter(usage, ledger, now) : undefined;
    const limits = { memoryInitialPages: engineSettings.memoryInitialPages, memoryMaxPages: engineSettings.memoryMaxPages };
    const shadow = shadowSink
      ? new Shadow(
          picked.runner,
          shadowSink,
          shadowConfig(config.shadow?.queue ? { queue: config.shadow.queue } : {}),
          limits,
          (bundle: Bundle, reason: string) =>
            log.error(
              { bundle: bundle.name, revision: bundle.revision, digest: bundle.digest, err: reason },
              'shadow bundle switched off: its evaluation stopped a worker',
            ),
        )
      : undefined;
    // With a shared store, requests live there for every replica, vouched for by their signatures.
    const sharedApprovals =
      shared && config.approvals !== false
        ? shared.approvals({
            pollMs: APPROVAL_POLL_MS,
            receiptOf: (entryId) => {
              const e = ledger.get(entryId);
              return e && { seq: e.seq, entryHash: e.entryHash };
            },
            endedHere: (approvalId) => approvalEnded(ledger.db, approvalId),
            onError: (err, what) => log.error({ err }, `shared approvals: ${what}`),
          })
        : undefined;
    const approvals =
      config.approvals === false
        ? undefined
        : new ApprovalDesk({
            store: sharedApprovals ?? (approvalTable as SqliteApprovalStore),
            ledger,
            config: approvalsConfig(config.approvals ?? {}),
            now,
            ...(meter ? { stagedRelease: (decisionId: string) => meter.stagedRelease(decisionId) } : {}),
            onError: (err, what) => log.error({ err }, `${what} failed`),
          });
    const policies = new PolicySet(limits);
    engine = new Engine({
      config: engineSettings,
      ledger,
      policies,
      runner: picked.runner,
      now,
      ...(meter ? { meter } : {}),
      ...(approvals ? { approvals } : {}),
      ...(shadow ? { shadow } : {}),
      recorded: {
        find: (id) => {
          const entry = ledger.get(id);
          return entry && { kind: entry.kind, caller: entry.caller, receipt: { seq: entry.seq, entryHash: entry.entryHash } };
        },
        findRequest: (caller, requestId, sinceMs) => {
          const e = ledger.findRequest(caller, requestId, sinceMs);
          return e && { ...e, receipt: { seq: e.seq, entryHash: e.entryHash } };
        },
        // With a shared store, what the other replicas recorded (asked when this replica's claim of an id is refused).
        ...(shared ? { findSharedRequest: (caller: string, requestId: string, sinceMs: number) => shared.findRequest(caller, requestId, sinceMs) } : {}),
      },
    });
    const built = engine;
    retention = config.retention ? new RetentionSweeper(ledger, config.retention, now, log) : undefined;
    witnesses = config.witnesses && config.witnesses.witnesses.length > 0 ? new WitnessSubmitter(ledger, config.witnesses, log) : undefined;
    const health = new RuntimeHealth(() => policies.ready, ledger, usage?.health, log, witnesses);
    const listeners: Array<(bundle: string, result: PolicyEventResult) => void> = [];
    const liveSet = liveBundleSet(
      { bundles: policies.bundles, activate: (b) => built.activate(b), recordPolicyEvent: (e) => built.recordPolicyEvent(e) },
      log,
      {
        counted: (bundle, result) => {
          for (const l of listeners) l(bundle, result);
        },
        changed: () => health.refresh(),
      },
      live,
    );
    liveSet.start();
    const shadowSet = shadow && shadowSources ? shadowBundleSet(shadow, log, shadowSources) : undefined;
    shadowSet?.start();
    approvals?.start();
    retention?.start();
    guard.start(config.state?.checkMs ?? 1000, (err) => log.error({ err }, 'state check failed; state reads fail closed until it passes'));
    if (checked.baselined) log.warn('usage tables from before usage entries were recorded once in the ledger as the baseline the chain adds up from');
    if (checked.mismatches.length > 0) {
      log.warn(
        { rows: checked.mismatches.length, tables: mismatchSummary(checked.mismatches) },
        '--rebuild-state: state tables rebuilt from the ledger chain (recorded as a state entry)',
      );
    }
    if (sharedApprovals) {
      const settled = await sharedApprovals.reconcile();
      if (settled > 0) log.warn({ changes: settled }, 'shared approvals: sealed or undid the changes this replica left unsealed when it stopped');
    }
    if (shared)
      stops.push(
        await reconcileSharedUsage(shared, ledger, {
          rebuild: config.state?.rebuild === true,
          checkSeconds: config.usageStore?.stateCheckSeconds ?? 60,
          log,
          ...(sharedApprovals ? { approvals: sharedApprovals } : {}),
        }),
      );
    // Workers started before anyone can call: the first calls pay no start-up, and a worker that cannot start fails here.
    await built.ready();
    if (config.recordStart === true) await recordStartSet(built, ledger, liveSet, live);
    startDelivery(liveSet, live, liveSources, delivery.verification);
    if (shadowSet && shadowSources && config.shadow) startDelivery(shadowSet, shadowSources, config.shadow, delivery.verification);

    const stateGuard = guard;
    let verifying: Promise<StateMismatch[]> | undefined;
    // One check at a time: callers that ask while one runs share its answer (one worker, however many ask).
    const verifyState = () => {
      verifying ??= (
        config.ledger === ':memory:'
          ? Promise.resolve(compareState(ledger.db, deriveState(ledger.db), { usage: stateUsage() }))
          : stateMismatchesOffThread(config.ledger, stateUsage())
      ).finally(() => {
        verifying = undefined;
      });
      return verifying;
    };
    const shadowFace: ShadowFace | undefined = shadow
      ? {
          get bundles() {
            return shadow.bundles;
          },
          activate: (bundles) => shadow.activate(bundles),
          transitions: () => shadow.transitions(),
          get dropped() {
            return shadow.dropped;
          },
          get queued() {
            return shadow.queued;
          },
          get failed() {
            return shadow.failed + (shadowSink?.lost ?? 0);
          },
          get disabled() {
            return shadow.disabled;
          },
        }
      : undefined;
    const verifyAll = async (checkpoint?: string, onProgress?: (done: number, total: number) => void, witnesses?: WitnessRequirement) => {
      const report = await ledger.verify(checkpoint, onProgress, witnesses ? witnessRequirement(witnesses.keys, witnesses.min) : undefined);
      return withState(wireVerifyReport(report), report.ok ? await verifyState() : [], 'the ledger file');
    };
    const latestCheckpoint = () => checkpointInfo(ledger.latestCheckpoint(), ledger.verifierKey());
    let lastOnDemand = Number.NEGATIVE_INFINITY;
    const signOnDemand = () => {
      if (Date.now() - lastOnDemand < ON_DEMAND_CHECKPOINT_MS) return false;
      lastOnDemand = Date.now();
      return true;
    };
    const view = ledgerView({ db: ledger.db, label: config.ledger, verify: (onProgress) => verifyAll(undefined, onProgress), latestCheckpoint });
    let stopped: Promise<void> | undefined;
    return {
      decide: (request) => built.decide(request),
      recordOffline: (decision) => built.recordOffline(decision),
      report: usage ? reportFace(usage, policies, ledger, now) : undefined,
      audit: {
        query: (filter) => ledger.query(filter),
        get: (id) => ledger.get(id),
        verify: (checkpoint, witnesses) => verifyAll(checkpoint, undefined, witnesses),
        latestCheckpoint,
        inclusionProof: (ref, treeSize) => proveIncluded(ledger, ref, treeSize, signOnDemand),
        consistencyProof: (from, to) => consistencyProofOf(ledger.db, from, to ?? ledger.size),
        erase: (request) => ledger.erase(request, { now: now() }),
        verifyState,
        get size() {
          return ledger.size;
        },
        view,
      },
      approvals,
      policies: {
        get bundles() {
          return policies.bundles;
        },
        get ready() {
          return policies.ready;
        },
        status: () => ledger.policyStatus(),
        activate: (bundles, source) => liveSet.replace(bundles, source),
        replay: replays({ ledgerPath: ledger.db.name, now, verification: delivery.verification, limits }),
        onEvent: (listener) => listeners.push(listener),
        shadow: shadowFace,
      },
      health,
      stats: {
        get workers() {
          return picked.runner.size;
        },
        get workerRestarts() {
          return picked.runner.restarts;
        },
        get evaluationFaults() {
          return built.evaluationFaults;
        },
        get inlineEvaluations() {
          return picked.inlineEvaluations();
        },
        inlineMaxBytes: picked.inlineMaxBytes,
        ledgerThread: ledger instanceof ThreadedLedger,
      },
      limits: { maxInputBytes: engineSettings.maxInputBytes, maxDepth: engineSettings.maxDepth },
      state: checked,
      parts: { engine: built, ledger, usage, approvals, shadow, shadowSink },
      stop: () => {
        stopped ??= (async () => {
          liveSet.stop();
          shadowSet?.stop();
          for (const s of stops) s();
          stateGuard.stop();
          health.stop();
          // Workers first: nothing new reaches the ledger once it closes.
          await built.close();
          await shadowSink?.close();
          await usage?.close?.();
          // Before the ledger closes: a submission in flight stores its cosignature in the file; a sweep finishes its entry.
          await witnesses?.stop();
          await retention?.stop();
          await ledger.close();
        })();
        return stopped;
      },
    };
  } catch (err) {
    for (const s of stops) s();
    guard?.stop();
    // A refused start lets go of everything before it rejects: the caller may open the same file again at once.
    const settle = (p: Promise<unknown> | undefined) => p?.catch(() => undefined);
    await settle(engine ? engine.close() : picked.runner.close());
    await settle(witnesses?.stop());
    await settle(retention?.stop());
    await settle(ledger.close());
    await settle(shared?.close());
    throw err;
  }
}

/**
 * The ledger says which policy went live when: the set this process starts with, then every change.
 * Bundles live when the ledger was last written but not in this start's set went out while gavel was down.
 */
async function recordStartSet(engine: Engine, ledger: ServedLedger, set: BundleSet, loaded: LoadedSources): Promise<void> {
  const bundles = set.all;
  for (const was of ledger.policyStatus().active) {
    if (!bundles.some((b) => b.name === was.bundle)) {
      await engine.recordPolicyEvent({
        result: 'deactivated',
        bundle: was.bundle,
        revision: was.revision,
        digest: was.digest,
        source: was.source,
        reason: 'not in the set this server started with',
      });
    }
  }
  const sourceOf = (b: Bundle) =>
    loaded.remote.find((r) => r.bundle === b)?.url ?? (loaded.folderPath !== undefined ? `folder:${loaded.folderPath}` : 'inline');
  for (const b of bundles) await engine.recordPolicyEvent({ result: 'activated', ...described(b), source: sourceOf(b) });
}

/** The folder watched (when asked) and every URL polled from now on. */
function startDelivery(set: BundleSet, loaded: LoadedSources, sources: BundleSourcesConfig, verification: BundleVerification | undefined): void {
  if (sources.watch && loaded.folderPath !== undefined) {
    set.watchFolder({
      path: loaded.folderPath,
      ...(loaded.baseline !== undefined ? { baseline: loaded.baseline } : {}),
      ...(verification ? { verification } : {}),
      ...(sources.watchIntervalMs ? { intervalMs: sources.watchIntervalMs } : {}),
    });
  }
  for (const source of loaded.sources) set.adopt(source);
}

/** Usage reports settle reservations (each an entry); a failure of the store itself is UNAVAILABLE, like the decision path's. */
function reportFace(usage: ConfiguredUsageStore, policies: PolicySet, ledger: ServedLedger, now: () => Date): ReportFace {
  const ctx = {
    store: usage,
    get bundles() {
      return policies.bundles;
    },
    currency: usage.config.currency,
    findDecision: (id: string) => {
      const e = ledger.get(id);
      return e ? { decision: e.decision, actionType: e.actionType, resource: e.resource, caller: e.caller } : undefined;
    },
    reportFactor: usage.config.reportFactor,
    ledger,
    now,
  };
  const storeCall = <T>(body: () => Promise<T>) => closedOnFailure('usage_unavailable', 'usage state could not be read or written', body);
  return {
    report: (r) => storeCall(() => applyReport(ctx, r)),
    // Usage is kept under the comparison form of its subject, team or cost center (`Fiona` reads `fiona`'s).
    usage: (scope, key) => storeCall(() => usage.usage(scope, identityForm(key), now().getTime())),
  };
}
