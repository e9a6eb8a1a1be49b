import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Bundle } from '../../src/bundles/bundle.js';
import { loadBundles } from '../../src/bundles/loader.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { approvalsConfig } from '../../src/engine/approvals/config.js';
import { ApprovalDesk } from '../../src/engine/approvals/desk.js';
import { fingerprintOf } from '../../src/engine/approvals/fingerprint.js';
import type { ApprovalStore } from '../../src/engine/approvals/store.js';
import { DecisionLocks, type ApprovalLocks } from '../../src/engine/decision-locks.js';
import type { Decision } from '../../src/engine/engine.js';
import { KeyLocks } from '../../src/engine/key-locks.js';
import type { EntryRecord, Ledger } from '../../src/engine/ledger.js';
import { GavelError } from '../../src/lib/errors.js';
import type { JsonObject } from '../../src/lib/json.js';
import { Meter } from '../../src/usage/meter.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { modelCall, TestClock } from '../usage/helpers.js';

/**
 * The engine's three locks (engine/decision-locks.ts) under contention, through the real engine
 * with the shipped `ai` bundle: one seat (sam) whose monthly spend needs a team lead's approval
 * from the first cent and is capped at 0.005, so at most three calls' reservations (0.0015 each)
 * fit at once and the rest are denied seat_spend_cap. Identical calls share one fingerprint;
 * every call shares sam's usage keys; calls that carry an approval id take its hold while an
 * approver resolves it and the sweep takes the same holds.
 */
const T0 = Date.parse('2026-11-24T10:00:00Z');
const CAP_MICROS = 5_000;
const sam = { subject: 'sam', team: 'platform', costCenter: 'cc-100' };
const LEAD = { id: 'tara', roles: ['team-lead'] };
/** Well under the test's timeout: a deadlock fails here, naming what hung, instead of timing the test out. */
const SETTLE_MS = 8_000;

const cores: Runtime[] = [];
afterEach(async () => {
  beforeInsert = undefined;
  vi.restoreAllMocks();
  for (const c of cores.splice(0)) await c.stop();
});

function withSeatApproval(bundles: Bundle[]): Bundle[] {
  return bundles.map((b) => {
    if (b.name !== 'ai') return b;
    const data = structuredClone(b.data) as any;
    data.gavel.ai_config.budgets.seat_monthly_spend.by_subject.sam = { approval_at: 0.000001, cap_at: CAP_MICROS / 1_000_000 };
    return { ...b, data };
  });
}

/** Called before each entry is inserted (a test's fault: throw to refuse that entry). */
let beforeInsert: ((record: EntryRecord) => void) | undefined;

async function core(workers = 0): Promise<Runtime> {
  const clock = new TestClock(T0);
  const c = await startRuntime({
    bundles: withSeatApproval(loadBundles(BUNDLES)),
    ledger: join(tempDir(), 'l.db'),
    ledgerFaults: { beforeInsert: (record) => beforeInsert?.(record) },
    engine: { workers },
    now: clock.now,
    usage: { reservationTtlSeconds: 120 },
  });
  cores.push(c);
  return c;
}

/** A model call by sam; the max_tokens picks the fingerprint (the same number: the same action). */
function call(maxTokens: number, approvalId?: string): JsonObject {
  const input = modelCall(sam, 'standard-m', maxTokens) as JsonObject;
  return approvalId ? { ...input, context: { environment: 'prod', approval_id: approvalId } } : input;
}

const fingerprint = (maxTokens: number) => fingerprintOf(call(maxTokens));

function decide(c: Runtime, input: JsonObject, over: { requestId?: string; signal?: AbortSignal } = {}): Promise<Decision> {
  return c.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 'gw', ...over });
}

/** Every promise settled, or a failure naming how many were still pending when the time ran out. */
async function settledWithin<T>(what: string, promises: Array<Promise<T>>): Promise<Array<PromiseSettledResult<T>>> {
  let done = 0;
  const all = Promise.allSettled(promises.map((p) => p.finally(() => done++)));
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: ${promises.length - done} of ${promises.length} still pending after ${SETTLE_MS} ms`)), SETTLE_MS);
  });
  try {
    return await Promise.race([all, hung]);
  } finally {
    clearTimeout(timer);
  }
}

function values<T>(results: Array<PromiseSettledResult<T>>): T[] {
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(failed.map((r) => String(r.reason))).toEqual([]);
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

interface ApprovalRow {
  id: string;
  state: string;
  fingerprint: string;
  requested_by: string;
  consumed_by: string | null;
}
interface ChargeRow {
  decision_id: string;
  state: string;
  cost_micros: number;
}

function approvals(c: Runtime): ApprovalRow[] {
  return c.parts.ledger.db.prepare('SELECT id, state, fingerprint, requested_by, consumed_by FROM approvals').all() as ApprovalRow[];
}

function reservations(c: Runtime): ChargeRow[] {
  return c.parts.ledger.db
    .prepare("SELECT decision_id, state, cost_micros FROM usage_charges WHERE subject = 'sam' AND state = 'reserved'")
    .all() as ChargeRow[];
}

/**
 * What must hold whatever the interleaving: one open request per action, the reservations
 * within the cap, no action reserved twice, a call that waits on another decision's request
 * reserving nothing, an approval used at most once, and the tables equal to the chain.
 */
async function checkInvariants(c: Runtime, answered: Array<{ fingerprint: string; decision: Decision }>): Promise<void> {
  const rows = approvals(c);
  const open = rows.filter((a) => a.state === 'pending' || a.state === 'approved');
  const openPer = new Map<string, number>();
  for (const a of open) openPer.set(a.fingerprint, (openPer.get(a.fingerprint) ?? 0) + 1);
  expect([...openPer.values()].filter((n) => n > 1)).toEqual([]);

  const reserved = reservations(c);
  expect(reserved.reduce((sum, r) => sum + r.cost_micros, 0)).toBeLessThan(CAP_MICROS);
  const fingerprintOfDecision = new Map(answered.map((a) => [a.decision.decisionId, a.fingerprint]));
  const reservedFingerprints = reserved.map((r) => fingerprintOfDecision.get(r.decision_id));
  expect(reservedFingerprints.every((f) => f !== undefined)).toBe(true);
  expect(new Set(reservedFingerprints).size).toBe(reservedFingerprints.length);

  const requesters = new Set(rows.map((a) => a.requested_by));
  for (const { decision } of answered) {
    if (decision.decision !== 'require_approval' || requesters.has(decision.decisionId)) continue;
    // Pointed at another decision's request (or denied): nothing of its own is held.
    expect(await c.parts.usage!.charge(decision.decisionId), decision.decisionId).toBeUndefined();
  }
  const consumed = rows.filter((a) => a.state === 'consumed');
  const allowed = answered.filter((a) => a.decision.decision === 'allow');
  expect(allowed.map((a) => a.decision.decisionId).sort()).toEqual(consumed.map((a) => a.consumed_by).sort());

  expect((await c.parts.ledger.verify()).ok).toBe(true);
  expect(await c.audit.verifyState()).toEqual([]);
}

describe('concurrent approvals, budgets and identical fingerprints through the engine', () => {
  for (const workers of [0, 2]) {
    it(`finish, make one request per action and never reserve past the cap or twice (workers: ${workers})`, { timeout: 30_000 }, async () => {
      const c = await core(workers);
      const desk = c.parts.approvals!;
      const tokens = [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 101, 102, 103, 104, 101, 102, 103, 104];
      const first = values(
        await settledWithin(
          'first wave',
          tokens.map((t) => decide(c, call(t)).then((decision) => ({ fingerprint: fingerprint(t), decision }))),
        ),
      );
      // The identical calls all point at one request; it and the other actions' requests hold what the cap allows.
      const f100 = fingerprint(100);
      const asked = approvals(c).filter((a) => a.fingerprint === f100);
      expect(asked).toHaveLength(1);
      const request = asked[0]!;
      for (const a of first.filter((x) => x.fingerprint === f100)) {
        expect(a.decision.decision).toBe('require_approval');
        expect(a.decision.approval?.id).toBe(request.id);
      }
      expect(first.filter((a) => a.decision.decision === 'deny').length).toBeGreaterThan(0);
      await checkInvariants(c, first);

      // The request is approved while calls carrying its id, identical calls without it, and sweeps run.
      const second: Array<Promise<{ fingerprint: string; decision: Decision }>> = [];
      const others: Array<Promise<unknown>> = [];
      for (let i = 0; i < 12; i++) {
        const input = call(100, i % 3 === 2 ? undefined : request.id);
        second.push(decide(c, input).then((decision) => ({ fingerprint: f100, decision })));
        if (i === 4) others.push(desk.resolve({ approvalId: request.id, verdict: 'approve', approver: LEAD, comment: '', caller: 'console' }));
        if (i % 4 === 0) others.push(desk.sweep(), desk.get(request.id));
      }
      const [answers, side] = await Promise.all([settledWithin('second wave', second), settledWithin('approver and sweeps', others)]);
      values(side);
      const all = [...first, ...values(answers)];
      // Approved once and used once, by one of the calls that carried it.
      const used = approvals(c).find((a) => a.id === request.id)!;
      expect(used.state).toBe('consumed');
      expect(all.filter((a) => a.decision.decision === 'allow')).toHaveLength(1);
      await checkInvariants(c, all);
    });
  }

  it('an approval id spelled like a fingerprint lock does not lock its own decision out', { timeout: 30_000 }, async () => {
    const c = await core();
    // The hold and the fingerprint lock live in one KeyLocks: their keys must never meet.
    const spoof = `fingerprint\u0000${fingerprint(100)}`;
    const [answer] = values(await settledWithin('spoofed approval id', [decide(c, call(100, spoof))]));
    expect(answer!.decision).toBe('require_approval');
    expect(answer!.reasons.map((r) => r.code)).toContain('approval_mismatch');
  });
});

describe('every lock is let go on the failure paths, and identical calls still make one request', () => {
  /** Ten identical calls at once (the first one `doomed`), through the engine, within the time limit. */
  async function wave(c: Runtime, maxTokens: number, doomed: { requestId?: string; signal?: AbortSignal }) {
    const calls = Array.from({ length: 10 }, (_, i) => decide(c, call(maxTokens), i === 0 ? doomed : {}));
    const results = await settledWithin(`identical calls for ${maxTokens} tokens`, calls);
    const answered = results.flatMap((r) => (r.status === 'fulfilled' ? [{ fingerprint: fingerprint(maxTokens), decision: r.value }] : []));
    const open = approvals(c).filter((a) => a.fingerprint === fingerprint(maxTokens) && (a.state === 'pending' || a.state === 'approved'));
    expect(open).toHaveLength(1);
    for (const a of answered) expect(a.decision.approval?.id).toBe(open[0]!.id);
    await checkInvariants(c, answered);
    return results;
  }
  const code = (r: PromiseSettledResult<unknown> | undefined) => (r?.status === 'rejected' && r.reason instanceof GavelError ? r.reason.code : r?.status);

  it('the usage store failing while a new request holds the fingerprint, and a stale snapshot decided again', { timeout: 30_000 }, async () => {
    const c = await core();
    const real = Meter.prototype.stage;
    let staged = 0;
    vi.spyOn(Meter.prototype, 'stage').mockImplementation(async function (this: Meter, ...args: Parameters<Meter['stage']>) {
      staged++;
      if (staged === 1) throw new Error('usage store went away');
      // The second call's snapshot went stale: decided again on fresh usage, after letting its fingerprint go.
      if (staged === 2) return undefined;
      return real.apply(this, args);
    });
    const results = await wave(c, 100, {});
    expect(results.map(code).filter((x) => x !== 'fulfilled')).toEqual(['usage_unavailable']);
    expect(staged).toBeGreaterThan(10);
  });

  it('the ledger refusing the entry of a new request', { timeout: 30_000 }, async () => {
    const c = await core();
    beforeInsert = (record) => {
      if (record.requestId === 'doomed' && (record.kind ?? 'decision') === 'decision') throw new Error('disk full');
    };
    const results = await wave(c, 100, { requestId: 'doomed' });
    expect(code(results[0])).toBe('ledger_unavailable');
    expect(results.slice(1).every((r) => r.status === 'fulfilled')).toBe(true);
  });

  it('the caller going away while its entry is written', { timeout: 30_000 }, async () => {
    const c = await core();
    const gone = new AbortController();
    beforeInsert = (record) => {
      if (record.requestId === 'gone') gone.abort();
    };
    const results = await wave(c, 100, { requestId: 'gone', signal: gone.signal });
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(gone.signal.aborted).toBe(true);
    // Its entry stays; its reservation went with its release entry.
    const first = (results[0] as PromiseFulfilledResult<Decision>).value;
    expect(await c.parts.usage!.charge(first.decisionId)).toBeUndefined();
  });
});

/** The desk's two locks over one KeyLocks, as desk.ts keys them, logging each grant. */
function deskLocks(log: string[]): { keys: KeyLocks; approvals: ApprovalLocks } {
  const keys = new KeyLocks();
  const granted = async (name: string, key: string) => {
    const unlock = await keys.acquire([key]);
    log.push(name);
    return unlock;
  };
  return {
    keys,
    approvals: {
      hold: (id) => granted(`hold ${id}`, `approval\u0000${id}`),
      holdFingerprint: (f) => granted(`fingerprint ${f}`, `fingerprint\u0000${f}`),
    },
  };
}

/** Usage keys that log each grant. */
class LoggedKeyLocks extends KeyLocks {
  constructor(private readonly log: string[]) {
    super();
  }
  override async acquire(keys: readonly string[]): Promise<() => void> {
    const unlock = await super.acquire(keys);
    this.log.push(`usage ${keys.join(',')}`);
    return unlock;
  }
}

function parts() {
  const log: string[] = [];
  const usage = new LoggedKeyLocks(log);
  const desk = deskLocks(log);
  const held = () => ({ usage: usage.size, desk: desk.keys.size });
  return { log, usage, desk, held, locks: () => new DecisionLocks(usage, desk.approvals) };
}

describe('DecisionLocks', () => {
  it('takes the hold, the usage keys and the fingerprint in that order and lets all go in one release', async () => {
    const { log, usage, held, locks } = parts();
    const l = locks();
    await l.hold('a1');
    await l.usage(['subject:sam', 'team:platform']);
    await l.fingerprint('f1');
    expect(log).toEqual(['hold a1', 'usage subject:sam,team:platform', 'fingerprint f1']);
    expect(held()).toEqual({ usage: 2, desk: 2 });
    expect(usage.waiting).toBe(0);
    l.release();
    expect(held()).toEqual({ usage: 0, desk: 0 });
    l.release();
    expect(held()).toEqual({ usage: 0, desk: 0 });
  });

  it('lets the usage keys go when the write is staged, the fingerprint when the entry settles, the hold at the end', async () => {
    const { held, locks } = parts();
    const l = locks();
    await l.hold('a1');
    await l.usage(['subject:sam']);
    await l.fingerprint('f1');
    l.releaseUsage();
    // The entry is not durable yet: an identical call must still wait for the fingerprint.
    expect(held()).toEqual({ usage: 0, desk: 2 });
    l.releaseFingerprint();
    expect(held()).toEqual({ usage: 0, desk: 1 });
    l.release();
    expect(held()).toEqual({ usage: 0, desk: 0 });
  });

  it('refuses a lock out of order, one kind twice, or anything once it has let go', async () => {
    const { locks } = parts();
    const usageFirst = locks();
    await usageFirst.usage(['subject:sam']);
    await expect(usageFirst.hold('a1')).rejects.toThrow('lock order: the approval hold is asked for after the usage keys');
    await expect(usageFirst.usage(['team:x'])).rejects.toThrow('lock order: the usage keys is asked for twice');
    await usageFirst.fingerprint('f1');
    await expect(usageFirst.usage(['team:x'])).rejects.toThrow('after the fingerprint');
    await expect(usageFirst.fingerprint('f2')).rejects.toThrow('lock order: the fingerprint is asked for twice');
    usageFirst.release();
    const shrinking = locks();
    await shrinking.usage(['subject:sam']);
    shrinking.releaseUsage();
    await expect(shrinking.fingerprint('f1')).rejects.toThrow('after locks were let go');
    shrinking.release();
    const waiting = locks();
    const blocker = locks();
    await blocker.usage(['subject:sam']);
    const pending = waiting.usage(['subject:sam']);
    await expect(waiting.fingerprint('f1')).rejects.toThrow('while another lock is awaited');
    blocker.release();
    await pending;
    waiting.release();
    await expect(new DecisionLocks(new KeyLocks(), undefined).hold('a1')).rejects.toThrow('without an approval desk');
    await expect(new DecisionLocks(new KeyLocks(), undefined).request('gw\0r1')).rejects.toThrow('lock order: a request id asked for without request locks');
    // Once everything is let go, nothing is taken, not even for a moment: refused before it is asked of the locks.
    const { usage: keys, locks: more } = parts();
    const ended = more();
    ended.release();
    const asked = vi.spyOn(keys, 'acquire');
    await expect(ended.usage(['subject:sam'])).rejects.toThrow('lock order: the usage keys is asked for after locks were let go');
    expect(asked).not.toHaveBeenCalled();
    // A lock whose acquisition failed is not asked for again: the decision ends instead.
    const refusing = new DecisionLocks(new KeyLocks(), {
      hold: () => Promise.reject(new Error('desk closed')),
      holdFingerprint: () => Promise.reject(new Error('desk closed')),
    });
    await expect(refusing.hold('a1')).rejects.toThrow('desk closed');
    await expect(refusing.hold('a1')).rejects.toThrow('lock order: the approval hold is asked for twice');
  });

  it('lets a stale attempt go of its fingerprint and take it again; an early release lets go only its own acquisition', async () => {
    const { held, locks } = parts();
    const l = locks();
    await l.usage(['subject:sam']);
    const first = await l.fingerprint('f1');
    l.releaseFingerprint();
    const second = await l.fingerprint('f1');
    first();
    expect(held()).toEqual({ usage: 1, desk: 1 });
    second();
    expect(held()).toEqual({ usage: 1, desk: 0 });
    // An identical decision waiting for the fingerprint is let in by the early release.
    const other = locks();
    await l.fingerprint('f1');
    const waits = other.fingerprint('f1');
    l.releaseFingerprint();
    await waits;
    other.release();
    l.release();
    expect(held()).toEqual({ usage: 0, desk: 0 });
  });

  it('lets go of everything when the path throws, and of a lock granted after the release', async () => {
    const { held, locks } = parts();
    const l = locks();
    const failing = async () => {
      try {
        await l.hold('a1');
        await l.usage(['subject:sam']);
        await l.fingerprint('f1');
        throw new Error('stage failed');
      } finally {
        l.release();
      }
    };
    await expect(failing()).rejects.toThrow('stage failed');
    expect(held()).toEqual({ usage: 0, desk: 0 });
    // A lock still awaited when the decision let go is released as soon as it is granted.
    const blocker = locks();
    await blocker.hold('a2');
    const late = locks();
    const waiting = late.hold('a2');
    late.release();
    blocker.release();
    await expect(waiting).rejects.toThrow('granted after the decision');
    expect(held()).toEqual({ usage: 0, desk: 0 });
  });

  it('keeps the desk hold and fingerprint keys apart, whatever the approval id spells', async () => {
    const desk = new ApprovalDesk({ store: {} as ApprovalStore, ledger: {} as Ledger, config: approvalsConfig({}), now: () => new Date(T0) });
    const l = new DecisionLocks(new KeyLocks(), desk);
    await l.hold('fingerprint\u0000f1');
    const [granted] = values(await settledWithin('the fingerprint under a hold of the same spelling', [l.fingerprint('f1')]));
    granted!();
    l.release();
  });
});
