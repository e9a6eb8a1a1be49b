import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { decide, modelCall, report, usageOf } from './helpers.js';

/**
 * 200 concurrent Decide+Report pairs against the team budget "budget-test"
 * (5000 tokens a week in the reference bundle data). Each call is estimated
 * at 101 tokens (1 prompt token + max_tokens 100) and really uses 91, so the
 * budget fits ~49 calls. Reservations are taken atomically with the check, so
 * the real total can never pass the budget — evaluated on the I/O thread or
 * on two workers, where contending decisions run in parallel until their
 * usage keys make them wait their turn.
 */
const BUDGET = 5000;

describe.each([0, 2])('with %i evaluation workers', (workers) => {
  let srv: InProcessServer;
  let c: Clients;

  beforeAll(async () => {
    srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db'), engine: { workers } });
    c = clients(srv.address);
  });
  afterAll(async () => {
    c.close();
    await srv.stop();
  });

  it('200 concurrent Decide+Report pairs never overspend a budget that fits ~50', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const who = { subject: `edge-user-${i}`, team: 'budget-test', costCenter: 'cc-edge' };
        const d = await decide(c, modelCall(who, 'standard-m', 100, 'hi'));
        if (d.decision !== 'DECISION_ALLOW') return { allowed: false, codes: d.reasons.map((r: { code: string }) => r.code) };
        const routed = JSON.parse(d.obligations_json.toString()) as { route?: { model?: string } };
        await report(c, d.decision_id, who, routed.route?.model ?? 'standard-m', 1, 90);
        return { allowed: true, codes: [] as string[] };
      }),
    );
    const allowed = results.filter((r) => r.allowed).length;
    const team = await usageOf(c, 'team', 'budget-test');
    expect(allowed).toBeGreaterThan(40);
    // Each allowed call holds 101 tokens until its report settles it at 91: reports that land while
    // later calls are still being decided free 10 tokens each, so up to BUDGET / 91 calls can fit.
    expect(allowed).toBeLessThanOrEqual(Math.floor(BUDGET / 91));
    expect(team.week.used_tokens).toBe(allowed * 91);
    expect(team.week.used_tokens).toBeLessThanOrEqual(BUDGET);
    expect(team.week.reserved_tokens).toBe(0);
    const denied = results.filter((r) => !r.allowed);
    expect(denied.length).toBe(200 - allowed);
    for (const d of denied) expect(d.codes).toContain('team_budget_exhausted');
    // The ledger holds every decision, and every report that settled is an entry of its own.
    const kinds = srv.core.parts.ledger.db.prepare('SELECT kind, COUNT(*) AS n FROM entries GROUP BY kind ORDER BY kind').all();
    expect(kinds).toEqual([
      { kind: 'decision', n: 200 },
      { kind: 'usage', n: allowed },
    ]);
  });

  it('without reports, exactly as many calls as the budget holds are allowed, however they interleave', async () => {
    const fresh = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db'), engine: { workers } });
    const fc = clients(fresh.address);
    try {
      const who = (i: number) => ({ subject: `exact-user-${i}`, team: 'budget-test', costCenter: 'cc-exact' });
      const decided = await Promise.all(Array.from({ length: 120 }, (_, i) => decide(fc, modelCall(who(i), 'standard-m', 100, 'hi'))));
      const allowed = decided.filter((d) => d.decision === 'DECISION_ALLOW').length;
      const team = await usageOf(fc, 'team', 'budget-test');
      // Every allowed call reserves its estimate of 101 tokens against the team's 5000 a week.
      expect(allowed).toBe(Math.floor(BUDGET / 101));
      expect(team.week.reserved_tokens).toBe(allowed * 101);
    } finally {
      fc.close();
      await fresh.stop();
    }
  });
});
