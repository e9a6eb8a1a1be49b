import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { approvalsConfig } from '../../src/engine/approvals/config.js';
import { ApprovalDesk } from '../../src/engine/approvals/desk.js';
import { SqliteApprovalStore } from '../../src/ledger/approval-table.js';
import { Engine, type DecideRequest } from '../../src/engine/engine.js';
import { GavelError } from '../../src/lib/errors.js';
import type { JsonObject } from '../../src/lib/json.js';
import { bundles, engine, MemoryLedger, parts, ScriptedMeter } from '../helpers/engine-ports.js';
import { refusal } from '../helpers/refusal.js';

/**
 * The engine against its two ports, each implemented here as the contract in
 * engine/ledger.ts and engine/meter.ts describes it, over the real fixture
 * bundle: how ledger and usage failures surface, how often a contended decision
 * is evaluated again before failing closed, and what a caller that went away gets.
 */

const request = (result: JsonObject = { decision: 'allow' }, extra: Partial<DecideRequest> = {}, input: JsonObject = {}): DecideRequest => ({
  policy: '',
  input: { value: { subject: { id: 'alice' }, ...input, result } },
  requestId: 'req-1',
  caller: 'test',
  ...extra,
});

describe('the ledger port', () => {
  it('a plain error from the ledger is ledger_unavailable, keeping the cause', async () => {
    const { engine: e, ledger } = engine();
    const cause = new Error('disk full');
    ledger.failWith = cause;
    const err = await refusal(e.decide(request()));
    expect(err.code).toBe('ledger_unavailable');
    expect(err.message).toBe('the decision could not be recorded in the ledger; no answer is given');
    expect(err.cause).toBe(cause);
  });

  it('a GavelError from the ledger is passed on as it is', async () => {
    const { engine: e, ledger } = engine();
    const own = new GavelError('ledger_unavailable', 'the ledger is closed');
    ledger.failWith = own;
    expect(await refusal(e.decide(request()))).toBe(own);
  });

  it('the decision carries the ledger’s receipt; redactedInput only when something was redacted', async () => {
    const { engine: e, ledger } = engine();
    const plain = await e.decide(request());
    expect(plain.receipt).toEqual({ seq: 1, entryHash: 'hash-1' });
    expect(plain).not.toHaveProperty('redactedInput');
    const red = await e.decide(
      request({ decision: 'allow', redactions: [{ path: '/content/prompt', kind: 'k' }] }, {}, { content: { prompt: 'secret text' } }),
    );
    expect(red.redactedInput).toMatchObject({ content: { prompt: '[REDACTED:k]' } });
    // A redaction whose path is absent applies nothing: no redactedInput either.
    const none = await e.decide(request({ decision: 'allow', redactions: [{ path: '/nowhere', kind: 'k' }] }));
    expect(none.decision).toBe('redact');
    expect(none).not.toHaveProperty('redactedInput');
    expect(ledger.records).toHaveLength(3);
  });

  it('without an injected clock the decision is timed now', async () => {
    const { engine: e } = engine();
    const before = Date.now();
    const d = await e.decide(request());
    expect(Date.parse(d.evaluatedAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(d.evaluatedAt)).toBeLessThanOrEqual(Date.now());
  });
});

describe('the meter port', () => {
  it('the meter’s context reaches the policy, and its staged write is applied with the entry', async () => {
    const meter = new ScriptedMeter();
    const { engine: e, ledger } = engine(meter, () => new Date('2026-01-01T00:00:00Z'));
    await e.decide(request());
    expect(meter.calls).toEqual(['context', 'stage:true', 'write', 'finish:true']);
    const stored = (JSON.parse(ledger.records[0]!.record.payloadJcs!) as JsonObject).input as JsonObject;
    expect(stored.context).toEqual({ usage: { marker: 'from-meter' }, now: '2026-01-01T00:00:00.000Z' });
  });

  it('a store that cannot be read fails closed as usage_unavailable, keeping the cause; a GavelError passes as it is', async () => {
    const meter = new ScriptedMeter();
    const { engine: e, ledger } = engine(meter);
    const cause = new Error('SQLITE_IOERR');
    meter.contextError = cause;
    const err = await refusal(e.decide(request()));
    expect(err.code).toBe('usage_unavailable');
    expect(err.message).toBe('usage state could not be read; failing closed');
    expect(err.cause).toBe(cause);
    const own = new GavelError('usage_unavailable', 'mine');
    meter.contextError = own;
    expect(await refusal(e.decide(request()))).toBe(own);
    expect(ledger.records).toHaveLength(0);
  });

  it('a stale snapshot is decided again on fresh usage until it holds', async () => {
    const meter = new ScriptedMeter();
    meter.current = (n) => n >= 3;
    const { engine: e, ledger } = engine(meter);
    const d = await e.decide(request());
    expect(d.decision).toBe('allow');
    expect(meter.calls.filter((c) => c === 'context')).toHaveLength(3);
    expect(ledger.records).toHaveLength(1);
  });

  it('a REQUIRE_APPROVAL decided again on fresh usage makes its request once (the first attempt lets go of its fingerprint)', async () => {
    const meter = new ScriptedMeter();
    meter.current = (n) => n >= 3;
    const db = new Database(':memory:');
    const ledger = new MemoryLedger(undefined, db);
    const desk = new ApprovalDesk({ store: new SqliteApprovalStore(db), ledger, config: approvalsConfig(), now: () => new Date() });
    const e = new Engine({ ...parts(), ledger, meter, approvals: desk });
    e.activate(bundles);
    const input = { subject: { id: 'sam' }, action: { type: 'tool.call', tool: 't' }, result: { decision: 'require_approval' } };
    const d = await e.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 'gw' });
    expect(d.approval?.state).toBe('pending');
    expect(meter.calls.filter((c) => c === 'context')).toHaveLength(3);
    expect(ledger.records).toHaveLength(1);
    expect(ledger.records[0]!.staged?.records?.map((r) => r.decision)).toEqual(['requested']);
    // The same call again: the lock was let go and the request is found, not made twice.
    const again = await e.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 'gw' });
    expect(again.approval?.id).toBe(d.approval?.id);
  });

  it('eight evaluations in all, then it fails closed and records nothing', async () => {
    const meter = new ScriptedMeter();
    meter.current = () => false;
    const { engine: e, ledger } = engine(meter);
    const err = await refusal(e.decide(request()));
    expect(err.code).toBe('usage_unavailable');
    expect(err.message).toBe('usage kept changing during 8 evaluations; failing closed');
    expect(meter.calls.filter((c) => c === 'context')).toHaveLength(8);
    expect(ledger.records).toHaveLength(0);
  });

  it('the eighth evaluation may still succeed', async () => {
    const meter = new ScriptedMeter();
    meter.current = (n) => n === 8;
    const { engine: e } = engine(meter);
    expect((await e.decide(request())).decision).toBe('allow');
  });
});

describe('a caller that went away', () => {
  it('cancelled before anything was recorded: abandoned, nothing recorded or staged', async () => {
    const meter = new ScriptedMeter();
    const { engine: e, ledger } = engine(meter);
    const ac = new AbortController();
    ac.abort();
    const err = await refusal(e.decide(request(undefined, { signal: ac.signal })));
    expect(err.code).toBe('abandoned');
    expect(err.message).toBe('the caller cancelled or its deadline passed before the decision was recorded');
    expect(ledger.records).toHaveLength(0);
    // Known to be gone before usage is read: nothing is read, evaluated or staged.
    expect(meter.calls).toEqual([]);
  });

  it('gone while its usage was read and it was evaluated: abandoned before staging, nothing recorded', async () => {
    const meter = new ScriptedMeter();
    const { engine: e, ledger } = engine(meter);
    const ac = new AbortController();
    meter.onContext = () => ac.abort();
    const err = await refusal(e.decide(request(undefined, { signal: ac.signal })));
    expect(err.code).toBe('abandoned');
    expect(ledger.records).toHaveLength(0);
    expect(meter.calls).toEqual(['context']);
  });

  it('a deadline already passed counts as gone; one in the future does not; a signal not aborted does not', async () => {
    const { engine: e, ledger } = engine();
    expect((await refusal(e.decide(request(undefined, { deadlineMs: Date.now() - 1 })))).code).toBe('abandoned');
    expect((await e.decide(request(undefined, { deadlineMs: Date.now() + 60_000 }))).receipt.seq).toBe(1);
    expect((await e.decide(request(undefined, { signal: new AbortController().signal }))).receipt.seq).toBe(2);
    expect(ledger.records).toHaveLength(2);
  });

  it('gone after its entry was written: the entry stays, its reservation is released', async () => {
    const meter = new ScriptedMeter();
    const { engine: e, ledger } = engine(meter);
    const ac = new AbortController();
    const original = ledger.append.bind(ledger);
    ledger.append = async (record, staged) => {
      const receipt = await original(record, staged);
      ac.abort();
      return receipt;
    };
    const d = await e.decide(request(undefined, { signal: ac.signal }));
    expect(d.receipt.seq).toBe(1);
    expect(meter.calls).toEqual(['context', 'stage:true', 'write', 'finish:true', 'release:true']);
  });

  it('a caller still there releases nothing', async () => {
    const meter = new ScriptedMeter();
    const { engine: e } = engine(meter);
    await e.decide(request());
    expect(meter.calls).not.toContain('release:true');
  });
});
