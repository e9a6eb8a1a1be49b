import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { SharedHistories } from '../../src/usage/postgres/history-cache.js';
import { migrateDatabase } from '../../src/usage/postgres/schema.js';
import { freshDatabase, postgresForTests, postgresUnavailable } from '../helpers/postgres.js';

/**
 * SharedHistories (usage/postgres/history-cache.ts) on its own, over a real gavel_usage_requests table:
 * no key row, no log (counted in SQL); a log at another generation or ahead of the row loaded again;
 * a row committed out of turn not counted until read by its number.
 */
const skip = postgresUnavailable();
if (skip) console.warn(`skipping PostgreSQL history cache tests: ${skip}`);

const T0 = Date.parse('2026-12-06T12:00:00Z');

describe.skipIf(skip)('SharedHistories', () => {
  const db = postgresForTests();
  async function table(): Promise<{ pool: pg.Pool; add: (id: string, seq: number | null, decision?: string) => Promise<void> }> {
    const url = await freshDatabase(db, 'hist');
    await migrateDatabase(url, 5000);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const add = async (id: string, seq: number | null, decision = 'allow') => {
      await pool.query(
        `INSERT INTO gavel_usage_requests (decision_id, subject, tool, decision, at_ms, subject_seq) VALUES ($1, 'alice', 'search', $2, $3, $4)`,
        [id, decision, T0, seq],
      );
    };
    return { pool, add };
  }

  it('without the key row it counts in SQL and keeps no log', async () => {
    const { pool, add } = await table();
    try {
      await add('a', 1, 'deny');
      const h = new SharedHistories();
      expect(await h.read(pool, 'alice', T0 + 1, undefined)).toEqual({ requests_last_minute: 1, denials_last_hour: 1, tool_calls_last_minute: { search: 1 } });
      expect(h.subjects).toBe(0);
      await h.read(pool, 'alice', T0 + 1, { seq: 1, gen: 0 });
      expect(h.subjects).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('loads again at another generation or when the row is behind its log; a row committed out of turn waits for its number', async () => {
    const { pool, add } = await table();
    try {
      const h = new SharedHistories();
      await add('a', 1);
      expect((await h.read(pool, 'alice', T0 + 1, { seq: 1, gen: 0 })).requests_last_minute).toBe(1);
      // Committed here as number 3 while the log is at 1: number 2 is another replica's, not read yet.
      await add('b', 2);
      await add('c', 3);
      h.committed({ decisionId: 'c', subject: 'alice', tool: 'search', decision: 'allow', atMs: T0 }, 3);
      expect((await h.read(pool, 'alice', T0 + 2, { seq: 3, gen: 0 })).requests_last_minute).toBe(3);
      // Rows rewritten (the generation moved): loaded again, as the table has them now.
      await pool.query(`DELETE FROM gavel_usage_requests WHERE decision_id = 'a'`);
      expect((await h.read(pool, 'alice', T0 + 3, { seq: 3, gen: 1 })).requests_last_minute).toBe(2);
      // A row behind the log (the key row restored from a backup, say): loaded again too.
      await pool.query(`DELETE FROM gavel_usage_requests WHERE decision_id = 'b'`);
      expect((await h.read(pool, 'alice', T0 + 4, { seq: 2, gen: 1 })).requests_last_minute).toBe(1);
    } finally {
      await pool.end();
    }
  });
});
