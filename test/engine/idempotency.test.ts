import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadBundles } from '../../src/bundles/loader.js';
import type { DecideRequest, Decision } from '../../src/engine/engine.js';
import { GavelError } from '../../src/lib/errors.js';
import { startRuntime, type Runtime, type RuntimeConfig } from '../../src/runtime.js';
import { transfer, MANAGER } from '../approvals/helpers.js';
import { BUNDLES, ROOT, tempDir } from '../helpers/paths.js';
import { modelCall, TestClock } from '../usage/helpers.js';
import { readFileSync } from 'node:fs';

/**
 * Decide is idempotent by (caller, request_id) (engine/idempotency.ts), driven here through the
 * runtime's decide face on a real SQLite ledger with the reference `ai` bundle: a retry gets the
 * recorded answer (same decision id and receipt, replayed) with no new entry, reservation or
 * approval request; the same id with another input is refused; the window and the caller bound it.
 */

const T0 = Date.parse('2026-12-05T10:00:00Z');
const sam = { subject: 'sam', team: 'platform', costCenter: 'cc-100' };
const bundles = loadBundles(BUNDLES);
let runtime: Runtime | undefined;

afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

async function start(over: Partial<RuntimeConfig> = {}, clock = new TestClock(T0)): Promise<Runtime> {
  runtime = await startRuntime({ bundles, ledger: join(tempDir(), 'l.db'), now: clock.now, ...over });
  return runtime;
}

function request(input: unknown, requestId: string, over: Partial<DecideRequest> = {}): DecideRequest {
  return { policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId, caller: 'gateway-1', ...over };
}

async function reservedTokens(r: Runtime): Promise<number> {
  const usage = (await r.report!.usage('subject', 'sam')) as { week: { reserved_tokens: number } };
  return usage.week.reserved_tokens;
}

describe('Decide idempotent by request_id', () => {
  it('a retry gets the recorded answer: same decision id and receipt, replayed; no new entry and no second reservation', async () => {
    const r = await start();
    const first = await r.decide(request(modelCall(sam, 'standard-m', 100), 'req-1'));
    expect(first.decision).toBe('allow');
    expect(first.replayed).toBeUndefined();
    const size = r.audit.size;
    const reserved = await reservedTokens(r);
    expect(reserved).toBeGreaterThan(0);

    const again = await r.decide(request(modelCall(sam, 'standard-m', 100), 'req-1'));
    expect(again.replayed).toBe(true);
    const { replayed: _r, ...same } = again;
    expect(same).toEqual(first);
    expect(r.audit.size).toBe(size);
    expect(await reservedTokens(r)).toBe(reserved);

    // The same document sent as a struct value is the same input.
    const asValue = await r.decide({ ...request(null, 'req-1'), input: { value: modelCall(sam, 'standard-m', 100) } });
    expect(asValue.decisionId).toBe(first.decisionId);
  });

  it('the same request id with another input is refused (idempotency_conflict), never answered with the old decision', async () => {
    const r = await start();
    const first = await r.decide(request(modelCall(sam, 'standard-m', 100), 'req-2'));
    const size = r.audit.size;
    const err = await r.decide(request(modelCall(sam, 'standard-m', 101), 'req-2')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GavelError);
    expect(err).toMatchObject({ code: 'idempotency_conflict', status: 'FAILED_PRECONDITION', message: expect.stringContaining(first.decisionId) });
    expect(r.audit.size).toBe(size);
  });

  it('the key is the caller and the request id: another caller, or no request id, is a new decision', async () => {
    const r = await start();
    const first = await r.decide(request(modelCall(sam, 'standard-m', 100), 'req-3'));
    const other = await r.decide(request(modelCall(sam, 'standard-m', 100), 'req-3', { caller: 'gateway-2' }));
    expect(other.decisionId).not.toBe(first.decisionId);
    expect(other.replayed).toBeUndefined();
    const a = await r.decide(request(modelCall(sam, 'standard-m', 100), ''));
    const b = await r.decide(request(modelCall(sam, 'standard-m', 100), ''));
    expect(a.decisionId).not.toBe(b.decisionId);
  });

  it('after the window the same request id is decided anew; a window of 0 turns the rule off', async () => {
    const clock = new TestClock(T0);
    const r = await start({ engine: { idempotencyWindowSeconds: 3600 } }, clock);
    const first = await r.decide(request(modelCall(sam, 'standard-m', 100), 'req-4'));
    clock.advance(3600 * 1000);
    expect((await r.decide(request(modelCall(sam, 'standard-m', 100), 'req-4'))).decisionId).toBe(first.decisionId);
    clock.advance(1);
    const later = await r.decide(request(modelCall(sam, 'standard-m', 100), 'req-4'));
    expect(later.decisionId).not.toBe(first.decisionId);
    expect(later.replayed).toBeUndefined();
    await r.stop();

    const off = await start({ engine: { idempotencyWindowSeconds: 0 } });
    const x = await off.decide(request(modelCall(sam, 'standard-m', 100), 'req-5'));
    const y = await off.decide(request(modelCall(sam, 'standard-m', 100), 'req-5'));
    expect(y.decisionId).not.toBe(x.decisionId);
  });

  it('retries arriving while the first is decided wait for it: one decision, one entry, one reservation', async () => {
    for (const workers of [0, 2]) {
      const r = await start({ engine: { workers } });
      const size = r.audit.size;
      const all = await Promise.all(Array.from({ length: 6 }, () => r.decide(request(modelCall(sam, 'standard-m', 100), 'req-6'))));
      expect(new Set(all.map((d) => d.decisionId)).size).toBe(1);
      expect(all.filter((d) => d.replayed === true)).toHaveLength(5);
      expect(r.audit.size).toBe(size + 1);
      const single = await r.decide(request(modelCall(sam, 'standard-m', 100), 'req-other'));
      expect(await reservedTokens(r)).toBe(2 * (await reservedOf(r, single)));
      await r.stop();
      runtime = undefined;
    }
  });

  it('a replayed REDACT gives back the redacted input, the sensitive path as the caller sent it', async () => {
    const sample = JSON.parse(readFileSync(join(ROOT, 'policies/ai/samples/prompt-ssn-redact.json'), 'utf8')) as { input: Record<string, any> };
    const input = { ...sample.input, context: { environment: 'prod' } };
    const r = await start();
    const first = await r.decide(request(input, 'req-7'));
    expect(first.decision).toBe('redact');
    expect(first.redactedInput).toBeDefined();
    expect(JSON.stringify(first.redactedInput)).not.toContain('078-05-1120');
    // The ledger holds the output as a salted hash; the replay gives it back from the retry's own input.
    const stored = r.audit.get(first.decisionId)!.payload!.input as Record<string, any>;
    expect(stored.content.output).toHaveProperty('sha256');
    const again = await r.decide(request(input, 'req-7'));
    expect(again.replayed).toBe(true);
    expect(again.redactedInput).toEqual(first.redactedInput);
    expect(again.redactions).toEqual(first.redactions);
    expect(again.reasons).toEqual(first.reasons);
  });

  it('a retried REQUIRE_APPROVAL names the same request and makes no second; a retried consuming decision uses it once', async () => {
    const r = await start();
    const asked = await r.decide(request(transfer(50_000), 'pay-1'));
    expect(asked.decision).toBe('require_approval');
    const again = await r.decide(request(transfer(50_000), 'pay-1'));
    expect(again.replayed).toBe(true);
    expect(again.approval).toEqual(asked.approval);
    expect(await r.approvals!.list({ limit: 100 })).toHaveLength(1);

    const id = asked.approval!.id;
    await r.approvals!.resolve({ approvalId: id, verdict: 'approve', approver: MANAGER, comment: '', caller: 'console' });
    const used = await r.decide(request(transfer(50_000, { approvalId: id }), 'pay-2'));
    expect(used.decision).toBe('allow');
    expect(used.approval?.state).toBe('consumed');
    const usedAgain = await r.decide(request(transfer(50_000, { approvalId: id }), 'pay-2'));
    expect(usedAgain.replayed).toBe(true);
    expect(usedAgain.decision).toBe('allow');
    expect(usedAgain.approval).toEqual(used.approval);
    // The first retry still says what it said then (pending), though the request has moved on.
    expect((await r.decide(request(transfer(50_000), 'pay-1'))).approval?.state).toBe('pending');
    // A new request id carrying the used approval is a new decision: it cannot use it again.
    const third = await r.decide(request(transfer(50_000, { approvalId: id }), 'pay-3'));
    expect(third.decision).not.toBe('allow');
  });

  it('a caller gone after its entry committed keeps its reservation: the retry gets that answer and nothing more', async () => {
    const aborts = new AbortController();
    const r = await start({ ledgerFaults: { beforeCommit: () => aborts.abort() } });
    const first = await r.decide(request(modelCall(sam, 'standard-m', 100), 'req-8', { signal: aborts.signal }));
    const reserved = await reservedTokens(r);
    expect(reserved).toBe(await reservedOf(r, first));
    const again = await r.decide(request(modelCall(sam, 'standard-m', 100), 'req-8'));
    expect(again.replayed).toBe(true);
    expect(again.decisionId).toBe(first.decisionId);
    expect(await reservedTokens(r)).toBe(reserved);
  });

  it('a decision that failed to record is not an answer: the retry decides', async () => {
    let fail = true;
    const r = await start({
      ledgerFaults: {
        beforeCommit: () => {
          if (fail) throw new Error('disk full');
        },
      },
    });
    await expect(r.decide(request(modelCall(sam, 'standard-m', 100), 'req-9'))).rejects.toMatchObject({ code: 'ledger_unavailable' });
    fail = false;
    const d = await r.decide(request(modelCall(sam, 'standard-m', 100), 'req-9'));
    expect(d.replayed).toBeUndefined();
    expect(r.audit.get(d.decisionId)?.requestId).toBe('req-9');
  });
});

/** The tokens one decision reserved, as its entry's usage records them. */
async function reservedOf(r: Runtime, d: Decision): Promise<number> {
  const usage = r.audit.get(d.decisionId)!.payload!.usage as { reserved: { tokens: number } };
  return usage.reserved.tokens;
}
