import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Approval } from '../../src/engine/approvals/approval.js';
import { approvalsConfig } from '../../src/engine/approvals/config.js';
import { ApprovalDesk, type HeldApproval } from '../../src/engine/approvals/desk.js';
import { engineConfig } from '../../src/engine/config.js';
import type { DecideRequest } from '../../src/engine/engine.js';
import type { RecordedRequest } from '../../src/engine/idempotency.js';
import type { Receipt } from '../../src/engine/ledger.js';
import type { RequestClaim } from '../../src/engine/meter.js';
import type { RecordedEntries } from '../../src/engine/offline.js';
import { InlineRunner, type Job } from '../../src/engine/runner.js';
import type { Shadow } from '../../src/engine/shadow/shadow.js';
import { GavelError } from '../../src/lib/errors.js';
import type { JsonObject } from '../../src/lib/json.js';
import { SqliteApprovalStore } from '../../src/ledger/approval-table.js';
import { engine, MemoryLedger, ScriptedMeter } from '../helpers/engine-ports.js';
import { refusal } from '../helpers/refusal.js';

/**
 * Engine.decide against the ports a decision reaches beyond the ledger and the meter (engine-ports.test.ts):
 * the recorded entries an idempotent call is looked up in (this replica's ledger, a shared store), the
 * approval desk, the shadow, and the runner's jobs, each given back once the engine is done with it.
 */

/** A runner on this thread that notes the jobs it prepared and the ones it was given back. */
class CountingRunner extends InlineRunner {
  prepared: Job[] = [];
  discarded: Job[] = [];
  override async prepare(req: Parameters<InlineRunner['prepare']>[0]): Promise<Job> {
    const job = await super.prepare(req);
    this.prepared.push(job);
    return job;
  }
  override discard(job: Job): void {
    this.discarded.push(job);
    super.discard(job);
  }
}

const counting = () => new CountingRunner(engineConfig({ defaultEntrypoint: 'fixtures/echo' }));

/**
 * A meter that keeps request claims, as a store shared by replicas does: each recorded request's answer,
 * as the engine hands it over (`claim.answer()`), with its receipt.
 */
class ClaimingMeter extends ScriptedMeter {
  claims: Array<{ requestId: string; decisionId: string; receipt: Receipt }> = [];
  answers = new Map<string, RecordedRequest>();
  requestRecorded(claim: RequestClaim, decisionId: string, receipt: Receipt): void {
    this.claims.push({ requestId: claim.requestId, decisionId, receipt });
    this.answers.set(`${claim.caller}\0${claim.requestId}`, { ...(JSON.parse(claim.answer()) as Omit<RecordedRequest, 'receipt'>), receipt });
  }
}

/** The requests a claiming meter kept, looked up by caller and request id. */
function recordedBy(meter: ClaimingMeter, over: Partial<RecordedEntries> = {}): RecordedEntries {
  return { findRequest: (caller, requestId) => meter.answers.get(`${caller}\0${requestId}`), find: () => undefined, ...over };
}

const request = (result: JsonObject, extra: Partial<DecideRequest> = {}, input: JsonObject = {}): DecideRequest => ({
  policy: '',
  input: { value: { subject: { id: 'alice' }, ...input, result } },
  requestId: 'req-1',
  caller: 'gw',
  ...extra,
});

const ALLOW = { decision: 'allow' };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('an idempotent call, looked up in this replica’s ledger', () => {
  it('a ledger that cannot be searched for the request id fails closed: ledger_unavailable, with the cause, nothing recorded', async () => {
    const cause = new Error('SQLITE_BUSY');
    const ledger = new MemoryLedger();
    const { engine: e } = engine(undefined, undefined, {
      ledger,
      recorded: recordedBy(new ClaimingMeter(), {
        findRequest: () => {
          throw cause;
        },
      }),
    });
    const err = await refusal(e.decide(request(ALLOW)));
    expect(err.code).toBe('ledger_unavailable');
    expect(err.message).toBe('the ledger could not be searched for this request id; failing closed');
    expect(err.cause).toBe(cause);
    expect(ledger.records).toHaveLength(0);
  });

  it('a retry is answered as recorded; each job, the retry’s and a conflicting one’s too, is given back', async () => {
    const runner = counting();
    const meter = new ClaimingMeter();
    const ledger = new MemoryLedger(meter.calls);
    const { engine: e } = engine(meter, undefined, { ledger, runner, recorded: recordedBy(meter) });
    const first = await e.decide(request(ALLOW));
    const again = await e.decide(request(ALLOW));
    expect(again).toMatchObject({ decisionId: first.decisionId, receipt: first.receipt, replayed: true });
    const err = await refusal(e.decide(request({ decision: 'deny' })));
    expect(err.code).toBe('idempotency_conflict');
    expect(err.message).toContain(first.decisionId);
    expect(err.message).toContain('this input differs from the one recorded');
    expect(ledger.records).toHaveLength(1);
    expect(runner.prepared).toHaveLength(3);
    expect(new Set(runner.discarded)).toEqual(new Set(runner.prepared));
  });

  it('a meter that keeps request claims is told of the recorded answer; one that keeps none is not asked', async () => {
    const meter = new ClaimingMeter();
    const ledger = new MemoryLedger(meter.calls);
    const { engine: e } = engine(meter, undefined, { ledger, recorded: recordedBy(meter) });
    const d = await e.decide(request(ALLOW));
    expect(meter.claims).toEqual([{ requestId: 'req-1', decisionId: d.decisionId, receipt: d.receipt }]);

    const plain = new ScriptedMeter();
    const other = new MemoryLedger(plain.calls);
    const { engine: e2 } = engine(plain, undefined, { ledger: other, recorded: recordedBy(new ClaimingMeter()) });
    expect((await e2.decide(request(ALLOW))).decision).toBe('allow');
  });
});

describe('an idempotent call another replica holds (a shared store refused this one’s claim)', () => {
  const inProgress = new GavelError('request_in_progress', 'another replica is deciding req-1');

  /** The first replica's entry for req-1, and a second replica whose claim of the id is refused. */
  async function twoReplicas(findShared: RecordedEntries['findSharedRequest']) {
    const shared = new ClaimingMeter();
    const { engine: first } = engine(shared, undefined, { recorded: recordedBy(shared) });
    const decided = await first.decide(request(ALLOW));
    const meter = new ScriptedMeter();
    meter.stageError = inProgress;
    const ledger = new MemoryLedger(meter.calls);
    const asked: string[] = [];
    const found = shared.answers.get('gw\0req-1')!;
    const { engine: second } = engine(meter, undefined, {
      ledger,
      recorded: recordedBy(new ClaimingMeter(), {
        findSharedRequest: async (caller, requestId, sinceMs) => {
          asked.push(`${caller}/${requestId}`);
          return findShared!(caller, requestId, sinceMs).then((f) => f && found);
        },
      }),
    });
    return { decided, second, meter, ledger, asked };
  }

  it('its recorded answer, once it has one: the first replica’s decision and receipt, nothing recorded here', async () => {
    const { decided, second, ledger, asked } = await twoReplicas(async () => ({}) as RecordedRequest);
    const d = await second.decide(request(ALLOW));
    expect(d).toMatchObject({ decisionId: decided.decisionId, receipt: decided.receipt, replayed: true });
    expect(asked).toEqual(['gw/req-1']);
    expect(ledger.records).toHaveLength(0);
  });

  it('none yet: the refusal stands (request_in_progress)', async () => {
    const { second, asked } = await twoReplicas(async () => undefined);
    expect(await refusal(second.decide(request(ALLOW)))).toBe(inProgress);
    expect(asked).toHaveLength(1);
  });

  it('a shared store that cannot be searched fails closed: usage_unavailable, with the cause', async () => {
    const cause = new Error('connection reset');
    const { second } = await twoReplicas(async () => {
      throw cause;
    });
    const err = await refusal(second.decide(request(ALLOW)));
    expect(err.code).toBe('usage_unavailable');
    expect(err.message).toBe('the shared store could not be searched for this request id; failing closed');
    expect(err.cause).toBe(cause);
  });

  it('any other refusal is not looked up: it stands as it is', async () => {
    const { second, meter, asked } = await twoReplicas(async () => ({}) as RecordedRequest);
    const other = new GavelError('usage_unavailable', 'the store is read-only');
    meter.stageError = other;
    expect(await refusal(second.decide(request(ALLOW)))).toBe(other);
    expect(asked).toEqual([]);
  });
});

describe('usage staged with the entry', () => {
  it('a reservation that cannot be staged fails closed: usage_unavailable, with the cause, nothing recorded, its read ended', async () => {
    const meter = new ScriptedMeter();
    const cause = new Error('disk I/O error');
    meter.stageError = cause;
    const { engine: e, ledger } = engine(meter);
    const err = await refusal(e.decide(request(ALLOW, { requestId: '' })));
    expect(err.code).toBe('usage_unavailable');
    expect(err.message).toBe('usage could not be reserved; failing closed');
    expect(err.cause).toBe(cause);
    expect(ledger.records).toHaveLength(0);
    expect(meter.ended).toBe(1);
  });

  it('every attempt’s read is ended, the stale ones and the one staged', async () => {
    const meter = new ScriptedMeter();
    meter.current = (n) => n >= 3;
    const { engine: e } = engine(meter);
    await e.decide(request(ALLOW, { requestId: '' }));
    expect(meter.ended).toBe(3);
  });
});

describe('approvals', () => {
  function withDesk(meter: ScriptedMeter) {
    const db = new Database(':memory:');
    const ledger = new MemoryLedger(undefined, db);
    const desk = new ApprovalDesk({ store: new SqliteApprovalStore(db), ledger, config: approvalsConfig(), now: () => new Date() });
    const { engine: e } = engine(meter, undefined, { ledger, approvals: desk });
    return { e, desk, ledger };
  }

  it('approval state that cannot be read fails closed as approvals_unavailable, with the cause', async () => {
    const { e, desk, ledger } = withDesk(new ScriptedMeter());
    const cause = new Error('database is locked');
    vi.spyOn(desk, 'lookup').mockRejectedValue(cause);
    const err = await refusal(e.decide(request(ALLOW, { requestId: '' })));
    expect(err.code).toBe('approvals_unavailable');
    expect(err.message).toBe('approval state could not be read; failing closed');
    expect(err.cause).toBe(cause);
    expect(ledger.records).toHaveLength(0);
  });

  it('approval state is read once per attempt: once at first, again before each attempt on fresh usage', async () => {
    const meter = new ScriptedMeter();
    meter.current = (n) => n >= 3;
    const { e, desk } = withDesk(meter);
    const lookup = vi.spyOn(desk, 'lookup');
    await e.decide(request(ALLOW, { requestId: '' }));
    expect(lookup).toHaveBeenCalledTimes(3);
  });

  describe('the reservation an open request of the same action holds is left out of the usage read (not counted twice)', () => {
    const stop = new Error('stop after the usage read');
    const held = (state: Approval['state'], sameAction: boolean): HeldApproval => ({
      approval: { id: 'apr-1', state, requestedBy: 'decision-0' } as Approval,
      context: undefined,
      sameAction,
    });
    async function replacedWith(h: HeldApproval): Promise<string | undefined> {
      const meter = new ScriptedMeter();
      meter.contextError = stop;
      const { e, desk } = withDesk(meter);
      vi.spyOn(desk, 'lookup').mockResolvedValue(h);
      expect(await refusal(e.decide(request(ALLOW, { requestId: '' })))).toMatchObject({ cause: stop });
      return meter.replaced[0];
    }

    it.each(['pending', 'approved'] as const)('%s, for this very action: its request is left out', async (state) => {
      expect(await replacedWith(held(state, true))).toBe('decision-0');
    });

    it.each(['rejected', 'expired', 'consumed'] as const)('%s: nothing is left out', async (state) => {
      expect(await replacedWith(held(state, true))).toBeUndefined();
    });

    it('open, but for another action: nothing is left out', async () => {
      expect(await replacedWith(held('pending', false))).toBeUndefined();
    });
  });
});

describe('a shared approval change (a store shared by replicas)', () => {
  const answer = { id: 'apr-9', state: 'pending' as const, expiresAt: '2026-12-06T14:00:00.000Z', approvers: ['lead'], minApprovals: 1 };

  /** An engine whose desk plans a shared change; `write` is what the change does when written alone. */
  function planned(write: () => Promise<void>, meter?: ScriptedMeter) {
    const db = new Database(':memory:');
    const ledger = new MemoryLedger(meter?.calls, db);
    const desk = new ApprovalDesk({ store: new SqliteApprovalStore(db), ledger, config: approvalsConfig(), now: () => new Date() });
    const log: string[] = [];
    const plan = vi.spyOn(desk, 'plan').mockImplementation(async () => ({
      answer,
      holdUntilMs: null,
      shared: {
        statements: ['UPDATE approvals SET state = state'],
        write: () => {
          log.push('write');
          return write();
        },
      },
      seal: async (receipt: Receipt) => void log.push(`seal:${receipt.seq}`),
      abandon: () => void log.push('abandon'),
    }));
    const { engine: e } = engine(meter, undefined, { ledger, approvals: desk });
    return { e, ledger, log, plan };
  }

  it('without usage rows to commit it with, it is written alone before the entry, and sealed once the entry commits', async () => {
    const { e, ledger, log } = planned(async () => undefined);
    const d = await e.decide(request(ALLOW, { requestId: '' }));
    expect(log).toEqual(['write', 'seal:1']);
    expect(d.approval).toEqual(answer);
    expect(ledger.records).toHaveLength(1);
  });

  it('changed first by another replica (approval_changed): planned and decided again, recorded once', async () => {
    let n = 0;
    const { e, ledger, log, plan } = planned(async () => {
      if (++n === 1) throw new GavelError('approval_changed', 'changed by another replica');
    });
    await e.decide(request(ALLOW, { requestId: '' }));
    expect(plan).toHaveBeenCalledTimes(2);
    expect(log).toEqual(['write', 'write', 'seal:1']);
    expect(ledger.records).toHaveLength(1);
  });

  it('a write that fails otherwise is undone and fails closed: approvals_unavailable, with the cause; a GavelError passes as it is', async () => {
    const cause = new Error('connection reset');
    const failing = planned(async () => {
      throw cause;
    });
    const err = await refusal(failing.e.decide(request(ALLOW, { requestId: '' })));
    expect(err.code).toBe('approvals_unavailable');
    expect(err.message).toBe('the approval could not be written to the shared store; failing closed');
    expect(err.cause).toBe(cause);
    expect(failing.log).toEqual(['write', 'abandon']);
    expect(failing.ledger.records).toHaveLength(0);

    const own = new GavelError('approvals_unavailable', 'the shared store is read-only');
    const refused = planned(async () => {
      throw own;
    });
    expect(await refusal(refused.e.decide(request(ALLOW, { requestId: '' })))).toBe(own);
    expect(refused.log).toEqual(['write', 'abandon']);
  });

  it('with usage rows, it is staged with them (the meter commits it), not written alone', async () => {
    const meter = new ScriptedMeter();
    const { e, log } = planned(async () => undefined, meter);
    await e.decide(request(ALLOW, { requestId: '' }));
    expect(log).toEqual(['seal:1']);
  });
});

describe('the shadow', () => {
  function shadowed(takes: boolean) {
    const offers: Array<{ job: Job; live: unknown }> = [];
    const shadow = {
      offer: (job: Job, _req: unknown, live: unknown) => {
        offers.push({ job, live });
        return takes;
      },
    } as unknown as Shadow;
    const runner = counting();
    const { engine: e } = engine(undefined, undefined, { runner, shadow });
    return { e, runner, offers };
  }

  it('is offered the recorded answer (the live side) and, when it takes the job, discards it itself', async () => {
    const { e, runner, offers } = shadowed(true);
    const d = await e.decide(request({ reasons: [{ code: 'no', effect: 'deny', rule: 'r' }] }, { requestId: '' }));
    expect(offers).toHaveLength(1);
    expect(offers[0]!.live).toEqual({ ...d.policy, decision: 'deny', reasonCodes: ['no'] });
    expect(runner.discarded).toEqual([]);
  });

  it('when it does not take the job, the engine discards it', async () => {
    const { e, runner, offers } = shadowed(false);
    await e.decide(request(ALLOW, { requestId: '' }));
    expect(runner.discarded).toEqual([offers[0]!.job]);
  });
});

describe('evaluation faults', () => {
  it('count the evaluations that trapped, not a policy’s own evaluation_error nor a request refused at the edge', async () => {
    const { engine: e } = engine();
    const ask = (policy: string, input: JsonObject, extra: Partial<DecideRequest> = {}) =>
      e.decide({ policy, input: { value: input }, requestId: '', caller: 'gw', ...extra });

    expect((await ask('fixtures/echo', { result: ALLOW })).decision).toBe('allow');
    const own = await ask('fixtures/echo', { result: { reasons: [{ code: 'evaluation_error', effect: 'deny', rule: 'policy.check' }] } });
    expect(own.reasons[0]).toMatchObject({ code: 'evaluation_error', rule: 'policy.check' });
    const refused = await ask('fixtures/echo', { result: ALLOW }, { refusal: { code: 'content_truncated', message: 'cut' } });
    expect(refused.reasons[0]).toMatchObject({ code: 'content_truncated', rule: 'gavel.engine' });
    expect(e.evaluationFaults).toBe(0);

    const trapped = await ask('fixtures/conflict', { a: true, b: true });
    expect(trapped.reasons[0]).toMatchObject({ code: 'evaluation_error', rule: 'gavel.engine' });
    expect(e.evaluationFaults).toBe(1);
  });
});
