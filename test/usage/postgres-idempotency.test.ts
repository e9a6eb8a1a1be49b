import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DecideRequest, Decision } from '../../src/engine/engine.js';
import { GavelError } from '../../src/lib/errors.js';
import type { Runtime } from '../../src/runtime.js';
import { ROOT } from '../helpers/paths.js';
import { failingCommits, postgresReplicas } from '../helpers/pg-replicas.js';
import { postgresUnavailable, queryAt } from '../helpers/postgres.js';
import { modelCall } from './helpers.js';

/**
 * Idempotent Decide across replicas sharing one PostgreSQL store (README "Retries and idempotency"):
 * each replica its own ledger file, the request id claimed in the transaction that reserves, so one
 * (caller, request_id) is one decision, one entry and one reservation whichever replicas it reaches.
 */
const skip = postgresUnavailable();
if (skip) console.warn(`skipping PostgreSQL idempotency tests: ${skip}`);

describe.skipIf(skip)('Decide idempotent by request_id across replicas', () => {
  const start = postgresReplicas('idem', { peers: true });
  const replicas = (n: number, over: { failCommit?: () => boolean } = {}) =>
    start(n, (i) => (i === 0 && over.failCommit ? failingCommits(over.failCommit) : {}));

  const ask = (requestId: string, tokens = 100): DecideRequest => ({
    policy: '',
    input: { json: Buffer.from(JSON.stringify(modelCall({ subject: 'pg-idem', team: 'pg-team', costCenter: 'cc-pg' }, 'standard-m', tokens))) },
    requestId,
    caller: 'gateway-1',
  });

  const charges = async (url: string, decisionId: string) =>
    (await queryAt(url, `SELECT count(*)::int AS n FROM gavel_usage_charges WHERE decision_id = '${decisionId}'`))[0]!.n;
  const entries = (all: Runtime[], requestId: string) => all.reduce((n, r) => n + [...r.audit.query({ kind: 'decision', requestId, limit: 10 })].length, 0);

  it('a retry on another replica gets the first replica’s recorded answer: same decision and receipt, nothing new anywhere', async () => {
    const { url, all } = await replicas(2);
    const [a, b] = all as [Runtime, Runtime];
    const first = await a.decide(ask('x-1'));
    expect(first.decision).toBe('allow');
    // The receipt reaches the shared row just after the answer.
    await expect.poll(async () => (await queryAt(url, `SELECT seq FROM gavel_request_ids WHERE request_id = 'x-1'`))[0]?.seq).toBe(String(first.receipt.seq));
    const sizeB = b.audit.size;
    const again = await b.decide(ask('x-1'));
    expect(again.replayed).toBe(true);
    const { replayed: _r, ...same } = again;
    expect(same).toEqual(first);
    expect(b.audit.size).toBe(sizeB);
    expect(await charges(url, first.decisionId)).toBe(1);
    expect(entries(all, 'x-1')).toBe(1);

    const err = await b.decide(ask('x-1', 200)).catch((e: unknown) => e as GavelError);
    expect(err).toBeInstanceOf(GavelError);
    expect((err as GavelError).code).toBe('idempotency_conflict');
  });

  it('an answer edited in the shared row is not given: the retry on another replica fails closed, the first answer stays in the ledger', async () => {
    const { url, all } = await replicas(2);
    const [a, b] = all as [Runtime, Runtime];
    const first = await a.decide(ask('x-forged'));
    await expect
      .poll(async () => (await queryAt(url, `SELECT seq FROM gavel_request_ids WHERE request_id = 'x-forged'`))[0]?.seq)
      .toBe(String(first.receipt.seq));
    // Someone with database access turns the recorded allow into a deny for whoever retries elsewhere.
    await queryAt(url, `UPDATE gavel_request_ids SET answer = replace(answer, '"decision":"allow"', '"decision":"deny"') WHERE request_id = 'x-forged'`);
    const err = await b.decide(ask('x-forged')).catch((e: unknown) => e as GavelError);
    expect(err).toBeInstanceOf(GavelError);
    expect((err as GavelError).code).toBe('usage_unavailable');
    expect((err as GavelError).message).toContain('not signed by a known replica');
    // On the replica that decided it, the ledger answers: unchanged.
    expect((await a.decide(ask('x-forged'))).decision).toBe('allow');
  });

  it('a REDACT replayed on another replica gives back the same redacted input (the claim keeps the stored input of an answer that had one)', async () => {
    const { url, all } = await replicas(2);
    const [a, b] = all as [Runtime, Runtime];
    const sample = JSON.parse(readFileSync(join(ROOT, 'policies/ai/samples/prompt-ssn-redact.json'), 'utf8')) as { input: Record<string, unknown> };
    const input = { ...sample.input, context: { environment: 'prod' } };
    const ask = { policy: '', input: { value: input }, requestId: 'x-redact', caller: 'gateway-1' };
    const first = await a.decide(ask);
    expect(first.decision).toBe('redact');
    await expect
      .poll(async () => (await queryAt(url, `SELECT seq FROM gavel_request_ids WHERE request_id = 'x-redact'`))[0]?.seq)
      .toBe(String(first.receipt.seq));
    const again = await b.decide(ask);
    expect(again.replayed).toBe(true);
    expect(again.redactedInput).toEqual(first.redactedInput);
    expect(JSON.stringify(again.redactedInput)).not.toContain('078-05-1120');
    // An answer without redactions keeps no input in the shared row.
    const plain = await a.decide({ ...ask, input: { value: modelCall({ subject: 'pg-idem', team: 'pg-team', costCenter: 'cc-pg' }) }, requestId: 'x-plain' });
    await expect
      .poll(async () => (await queryAt(url, `SELECT seq FROM gavel_request_ids WHERE request_id = 'x-plain'`))[0]?.seq)
      .toBe(String(plain.receipt.seq));
    const [row] = await queryAt(url, `SELECT answer FROM gavel_request_ids WHERE request_id = 'x-plain'`);
    expect(JSON.parse(String(row!.answer)).payload).not.toHaveProperty('input');
  });

  it('sent to two replicas at once: one decision; the other answers it or says request_in_progress (ABORTED), and its retry gets it', async () => {
    const { url, all } = await replicas(2);
    for (let round = 0; round < 5; round++) {
      const id = `x-race-${round}`;
      const settled = await Promise.allSettled(all.map((r) => r.decide(ask(id))));
      const decided = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const refused = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as GavelError] : []));
      expect(decided.length).toBeGreaterThanOrEqual(1);
      for (const e of refused) {
        expect(e.code).toBe('request_in_progress');
        expect(e.status).toBe('ABORTED');
      }
      expect(new Set(decided.map((d) => d.decisionId)).size).toBe(1);
      const original = decided.find((d) => d.replayed !== true)!;
      // Whoever was refused gets the answer on a retry, once the first replica noted its receipt.
      let retried: Decision | undefined;
      for (let i = 0; i < 100 && !retried; i++) {
        retried = await all[i % 2]!.decide(ask(id)).catch(async (e: GavelError) => {
          expect(e.code).toBe('request_in_progress');
          await new Promise((r) => setTimeout(r, 20));
          return undefined;
        });
      }
      expect(retried?.decisionId).toBe(original.decisionId);
      expect(entries(all, id)).toBe(1);
      expect(await charges(url, original.decisionId)).toBe(1);
    }
  });

  it('a decision whose entry could not be recorded leaves no claim: another replica decides the request', async () => {
    let failing = true;
    const { url, all } = await replicas(2, { failCommit: () => failing });
    const [a, b] = all as [Runtime, Runtime];
    await expect(a.decide(ask('x-lost'))).rejects.toMatchObject({ code: 'ledger_unavailable' });
    await expect.poll(async () => (await queryAt(url, `SELECT count(*)::int AS n FROM gavel_request_ids WHERE request_id = 'x-lost'`))[0]!.n).toBe(0);
    failing = false;
    const d = await b.decide(ask('x-lost'));
    expect(d.replayed).toBeUndefined();
    expect(entries(all, 'x-lost')).toBe(1);
  });
});
