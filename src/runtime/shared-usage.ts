import type { Logger } from 'pino';
import { isTerminal } from '../engine/approvals/approval.js';
import type { ApprovalStore } from '../engine/approvals/store.js';
import { replicaSigner } from './replica-signer.js';
import type { SqliteLedger } from '../ledger/sqlite.js';
import type { ServedLedger } from '../ledger/types.js';
import { readLedgerId } from '../ledger/meta.js';
import { mismatchSummary } from '../state/check.js';
import { reconcileShared } from '../state/shared.js';
import type { UsageConfig } from '../usage/config.js';
import { postgresUsageConfig, redactUrl } from '../usage/postgres/config.js';
import type { PostgresUsageStore } from '../usage/postgres/store.js';
import type { RuntimeConfig } from './config.js';

/** The shared store, migrated and checked before anything else is built; unreachable at start: gavel does not start. */
export async function openSharedUsage(shared: NonNullable<RuntimeConfig['usageStore']>, usage: UsageConfig, log: Logger): Promise<PostgresUsageStore> {
  const { url, stateCheckSeconds: _seconds, peerKeys: _peers, ...overrides } = shared;
  const pgConfig = postgresUsageConfig(url, overrides);
  // Loaded only with a shared store: a replica without one does not carry the PostgreSQL client (about 14 MB).
  const { PostgresUsageStore } = await import('../usage/postgres/store.js');
  const { store, migration } = await PostgresUsageStore.open(pgConfig, usage);
  log.info(
    { usage_store: redactUrl(pgConfig.url), schema_version: migration.to, migrated: migration.applied },
    migration.applied.length > 0 ? 'usage store migrated' : 'usage store ready',
  );
  return store;
}

/** The store bound to the ledger it reserves for (charges carry its id), and to its signing key. */
export function attachShared(store: PostgresUsageStore, ledger: Pick<SqliteLedger, 'db' | 'key'>, peerKeys: readonly string[]): PostgresUsageStore {
  // Rows this replica shares are signed with its ledger's key; its peers' are checked with theirs.
  store.attach(readLedgerId(ledger.db), replicaSigner(ledger.key, peerKeys));
  return store;
}

/**
 * Before serving: reservations this replica made but never recorded (it stopped in between) stop
 * counting, and the shared rows this replica's chain accounts for are checked against it (refused,
 * or rewritten with `rebuild`); then the same check on a timer, repairing what another program
 * changed. Returns the timer's stop.
 */
export async function reconcileSharedUsage(
  store: PostgresUsageStore,
  ledger: ServedLedger,
  o: { rebuild: boolean; checkSeconds: number; log: Logger; approvals?: ApprovalStore },
): Promise<() => void> {
  const { log } = o;
  const orphaned = await store.reconcile((id) => ledger.get(id) !== undefined);
  if (orphaned > 0) log.warn({ orphaned }, 'usage store: deleted reservations this ledger never recorded');
  const claims = await store.reconcileRequests((id) => {
    const e = ledger.get(id);
    return e && { seq: e.seq, entryHash: e.entryHash };
  });
  if (claims > 0) log.warn({ claims }, 'shared store: settled request id claims this replica left without a receipt');
  const check = (mode: 'refuse' | 'rebuild' | 'repair', reason: string) =>
    reconcileShared(store, ledger, {
      ledgerId: readLedgerId(ledger.db),
      timeZone: store.config.timeZone,
      rollingMinutes: store.config.rollingMinutes,
      nowMs: Date.now(),
      ...(o.approvals ? { endedApprovals: endedIn(o.approvals) } : {}),
      mode,
      reason,
    });
  const rebuilt = await check(o.rebuild ? 'rebuild' : 'refuse', 'started with --rebuild-state');
  if (rebuilt.length > 0)
    log.warn(
      { rows: rebuilt.length, tables: mismatchSummary(rebuilt) },
      '--rebuild-state: shared usage rows rewritten from the ledger chain (recorded as a state entry)',
    );
  const timer = setInterval(() => {
    check('repair', 'shared usage rows were changed by another program while gavel served')
      .then((repaired) => {
        if (repaired.length > 0) {
          log.error(
            { rows: repaired.length, tables: mismatchSummary(repaired) },
            'shared usage rows were changed by another program: rewritten from the ledger chain and recorded',
          );
        }
      })
      .catch((err: unknown) => log.error({ err }, 'shared usage state check failed'));
  }, o.checkSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Which of these approvals the store shows ended, as a replica honours them (state/shared.ts: their holds may be gone). */
function endedIn(store: ApprovalStore): (ids: string[]) => Promise<Set<string>> {
  return async (ids) => {
    const ended = new Set<string>();
    for (const id of ids) {
      const a = await store.get(id);
      if (a && isTerminal(a.state)) ended.add(id);
    }
    return ended;
  };
}
