import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { TestClock } from '../usage/helpers.js';
import { FIONA, MANAGER, transfer } from './helpers.js';

/**
 * The same loop with evaluation on two worker threads, driven through the
 * engine (no server): the binding (fingerprint, approval id) is worked out on
 * the worker, and 8 concurrent retries with one approval still allow one.
 */
const clock = new TestClock(Date.parse('2026-11-24T10:00:00Z'));
let core: Runtime;
beforeAll(async () => {
  core = await startRuntime({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db'), engine: { workers: 2 }, now: clock.now });
  await core.parts.engine.ready();
});
afterAll(() => core.stop());

const decide = (input: unknown) => {
  clock.advance(61_000);
  return core.decide({ policy: '', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: '', caller: 'test' });
};

describe('approvals with evaluation workers', () => {
  it('request, approve, 8 concurrent retries: exactly one allowed, the rest asked again; another subject does not match', async () => {
    expect(core.stats.workers).toBe(2);
    const asked = await decide(transfer(60_000));
    expect(asked.decision).toBe('require_approval');
    const id = asked.approval!.id;
    const other = await decide(transfer(60_000, { approvalId: id, subject: { ...FIONA, id: 'fred' } }));
    expect(other.reasons.map((r) => r.code)).toContain('approval_mismatch');
    await core.parts.approvals!.resolve({ approvalId: id, verdict: 'approve', approver: MANAGER, comment: '', caller: 'test' });
    const answers = await Promise.all(Array.from({ length: 8 }, () => decide(transfer(60_000, { approvalId: id }))));
    expect(answers.filter((a) => a.decision === 'allow')).toHaveLength(1);
    expect(answers.filter((a) => a.decision === 'require_approval')).toHaveLength(7);
    expect((await core.parts.approvals!.get(id)).state).toBe('consumed');
    expect(await core.parts.engine.heldByWorkers()).toEqual([0, 0]);
  });
});
