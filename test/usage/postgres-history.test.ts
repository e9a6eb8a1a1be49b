import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/engine/engine.js';
import type { Runtime } from '../../src/runtime.js';
import { fromTable } from '../../src/usage/postgres/history-cache.js';
import { failingCommits, postgresReplicas } from '../helpers/pg-replicas.js';
import { postgresUnavailable } from '../helpers/postgres.js';
import pg from 'pg';
import { TestClock } from './helpers.js';

/**
 * The request history the policy sees (input.context.history) on the shared store, kept in memory per
 * subject on each replica and numbered under the subject's history key row (usage/postgres/history-cache.ts):
 * every replica sees every replica's requests, a take-back is forgotten everywhere, and the counts are
 * always those of the SQL definition.
 */
const skip = postgresUnavailable();
if (skip) console.warn(`skipping PostgreSQL history tests: ${skip}`);

const T0 = Date.parse('2026-12-05T10:00:00Z');

describe.skipIf(skip)('request history across replicas', () => {
  const start = postgresReplicas('history', { peers: true });

  let n = 0;
  const call = (r: Runtime, tool: string, amount = 10) =>
    r.decide({
      policy: '',
      input: {
        value: {
          subject: { id: 'agent-7', type: 'agent', roles: ['agent'], team: 'platform', cost_center: 'cc-100', acting_for: 'alice' },
          action: { type: 'tool.call', tool, params: { amount } },
          context: { environment: 'prod' },
        },
      },
      requestId: `h-${++n}`,
      caller: 'gw',
    });

  /** input.context.history as the policy saw it, from the decision's entry on the replica that made it. */
  const seen = (r: Runtime, d: Decision) => (r.audit.get(d.decisionId)!.payload!.input as any).context.history as Record<string, unknown>;

  it('each replica counts every replica’s requests and denials, as the SQL definition does', async () => {
    const clock = new TestClock(T0);
    let failing = false;
    const { url, all: replicas } = await start(3, (i) => ({ now: clock.now, ...(i === 0 ? failingCommits(() => failing) : {}) }));
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const tools = ['search.web', 'kb.lookup', 'search.web', 'payments.refund', 'kb.lookup', 'search.web', 'files.delete', 'search.web', 'kb.lookup'];
      for (const [i, tool] of tools.entries()) {
        const r = replicas[i % 3]!;
        clock.advance(5_000);
        const nowMs = clock.now().getTime();
        const expected = await fromTable(pool, 'agent-7', nowMs);
        const d = await call(r, tool);
        expect(seen(r, d), `call ${i} on replica ${i % 3}`).toEqual(expected);
      }
      // A decision whose entry is given up: its request row is taken back, and no replica counts it afterwards.
      clock.advance(1_000);
      failing = true;
      await expect(call(replicas[0]!, 'search.web')).rejects.toMatchObject({ code: 'ledger_unavailable' });
      failing = false;
      await expect
        .poll(async () => (await pool.query(`SELECT count(*)::int AS n FROM gavel_usage_requests WHERE subject = 'agent-7'`)).rows[0].n)
        .toBe(tools.length);
      for (const r of replicas) {
        clock.advance(1_000);
        const expected = await fromTable(pool, 'agent-7', clock.now().getTime());
        const d = await call(r, 'kb.lookup');
        expect(seen(r, d)).toEqual(expected);
      }
      // Past the minute, the last minute's counts fall away on every replica alike.
      clock.advance(70_000);
      for (const r of replicas) {
        const expected = await fromTable(pool, 'agent-7', clock.now().getTime());
        const d = await call(r, 'search.web');
        expect(seen(r, d)).toEqual(expected);
        clock.advance(500);
      }
    } finally {
      await pool.end();
    }
  });
});
