import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import type { EntryRecord, Receipt } from '../../src/engine/ledger.js';
import type { LedgerFaults } from '../../src/ledger/sqlite.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { modelCall } from '../usage/helpers.js';
import { coreOptions, decideVia, echoInput } from './fixtures.js';

/**
 * A receipt exists only for a committed entry. Faults are injected through the
 * ledger's construction-time hooks, as a failing statement or COMMIT would.
 */

function record(decisionId: string, subject = 'alice'): EntryRecord {
  return {
    decisionId,
    time: new Date().toISOString(),
    subjectId: subject,
    subjectType: 'user',
    team: 'payments',
    costCenter: 'cc-1',
    actionType: 'model.invoke',
    resource: 'standard-m',
    decision: 'allow',
    reasonCodes: ['allowed'],
    bundle: 'b',
    revision: 'r',
    digest: 'sha256:00',
    entrypoint: 'e',
    requestId: '',
    caller: 'test',
    payload: { input: { subject }, result: { decision: 'allow' } },
    salt: randomBytes(16),
  };
}

function withCore(faults: LedgerFaults, body: (core: Runtime) => Promise<void>, options = {}): () => Promise<void> {
  return async () => {
    const core = await startRuntime({ ...coreOptions(join(tempDir(), 'ledger.db')), ledgerFaults: faults, ...options });
    try {
      await body(core);
    } finally {
      await core.stop();
    }
  };
}

/** Every receipt handed out names a row in the file with that seq and hash, and the chain verifies. */
async function expectReceiptsCommitted(core: Runtime, receipts: Receipt[]): Promise<void> {
  const stmt = core.parts.ledger.db.prepare('SELECT entry_hash FROM entries WHERE seq = ?');
  for (const r of receipts) expect(stmt.get(r.seq)).toEqual({ entry_hash: r.entryHash });
  const report = await core.parts.ledger.verify();
  expect(report.ok).toBe(true);
  expect(report.entries).toBe(core.parts.ledger.size);
}

const fulfilled = <T>(results: PromiseSettledResult<T>[]) => results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
const rejected = <T>(results: PromiseSettledResult<T>[]) => results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { code?: string }] : []));
const count = (core: Runtime) => (core.parts.ledger.db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n;

describe('group commit', () => {
  const failing = new Set<string>();
  it(
    'a failure in the middle of a batch refuses that entry alone; the others commit with contiguous seqs',
    withCore(
      {
        beforeInsert: (r) => {
          if (failing.has(r.decisionId)) throw new Error('I/O error');
        },
      },
      async (core) => {
        failing.add('bad');
        const results = await Promise.allSettled(['a', 'b', 'bad', 'c', 'd'].map((id) => core.parts.ledger.append(record(id))));
        expect(rejected(results).map((e) => e.code)).toEqual(['ledger_unavailable']);
        const receipts = fulfilled(results);
        expect(receipts.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
        expect(count(core)).toBe(4);
        expect(core.parts.ledger.db.prepare(`SELECT COUNT(*) AS n FROM entries WHERE decision_id = 'bad'`).get()).toEqual({ n: 0 });
        await expectReceiptsCommitted(core, receipts);
      },
    ),
  );

  let batchCommits = 0;
  it(
    'a record the chain cannot hash (a field that is not a string) is refused before its batch; the others commit in one transaction',
    withCore(
      {
        beforeCommit: () => {
          batchCommits++;
        },
      },
      async (core) => {
        const bad = [
          { ...record('no-subject'), subjectId: undefined },
          { ...record('number-team'), team: 7 },
          { ...record('codes'), reasonCodes: ['ok', 3] },
          { ...record('big'), resource: 1n },
        ] as unknown as EntryRecord[];
        const results = await Promise.allSettled([record('a'), ...bad, record('b')].map((r) => core.parts.ledger.append(r)));
        expect(rejected(results).map((e) => e.code)).toEqual(['ledger_unavailable', 'ledger_unavailable', 'ledger_unavailable', 'ledger_unavailable']);
        const receipts = fulfilled(results);
        expect(receipts.map((r) => r.seq)).toEqual([1, 2]);
        // Refused before the transaction: the good ones took one COMMIT, not a failed one and its retries.
        expect(batchCommits).toBe(1);
        await expectReceiptsCommitted(core, receipts);
      },
    ),
  );

  it(
    'two appends with the same decision id in one batch: one receipt, one UNAVAILABLE, and the receipt is for the row written',
    withCore({}, async (core) => {
      const results = await Promise.allSettled([
        core.parts.ledger.append(record('twin', 'first')),
        core.parts.ledger.append(record('twin', 'second')),
        core.parts.ledger.append(record('other')),
      ]);
      expect(rejected(results).map((e) => e.code)).toEqual(['ledger_unavailable']);
      expect(results[1]!.status).toBe('rejected');
      const receipts = fulfilled(results);
      expect(receipts.map((r) => r.seq)).toEqual([1, 2]);
      expect(core.parts.ledger.db.prepare(`SELECT subject_id FROM entries WHERE decision_id = 'twin'`).all()).toEqual([{ subject_id: 'first' }]);
      await expectReceiptsCommitted(core, receipts);
    }),
  );

  let commits = 0;
  let failCommits = 0;
  it(
    'a COMMIT that fails answers nobody before the retry; the batch is split and every innocent entry is recorded',
    withCore(
      {
        beforeCommit: () => {
          commits++;
          if (failCommits > 0) {
            failCommits--;
            throw new Error('disk I/O error');
          }
        },
      },
      async (core) => {
        failCommits = 1;
        const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => core.parts.ledger.append(record(`d${i}`))));
        expect(rejected(results)).toEqual([]);
        const receipts = fulfilled(results);
        expect(receipts.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        expect(commits).toBe(3); // the failed batch, then its two halves
        await expectReceiptsCommitted(core, receipts);
      },
    ),
  );

  let down = false;
  it(
    'a COMMIT that keeps failing refuses every caller, hands out no receipt, and the next batch continues the chain',
    withCore(
      {
        beforeCommit: () => {
          if (down) throw new Error('disk full');
        },
      },
      async (core) => {
        const first = await core.parts.ledger.append(record('before'));
        down = true;
        const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => core.parts.ledger.append(record(`lost-${i}`))));
        expect(fulfilled(results)).toEqual([]);
        expect(rejected(results).every((e) => e.code === 'ledger_unavailable')).toBe(true);
        expect(count(core)).toBe(1);
        expect(core.parts.ledger.size).toBe(1);
        expect(core.parts.ledger.headHash).toBe(first.entryHash);
        down = false;
        const next = await core.parts.ledger.append(record('after'));
        expect(next.seq).toBe(2);
        await expectReceiptsCommitted(core, [first, next]);
      },
    ),
  );
});

describe('usage and ledger commit together', () => {
  let down = false;
  it(
    'with metering on, a decision whose entry cannot be written leaves no reservation and no request behind',
    withCore(
      {
        beforeCommit: () => {
          if (down) throw new Error('disk full');
        },
      },
      async (core) => {
        const who = { subject: 'meter-1', team: 'platform', costCenter: 'cc-100' };
        const ok = await core.decide({ policy: '', input: { value: modelCall(who) }, requestId: '', caller: 't' });
        expect(ok.decision).toBe('allow');
        expect(await core.parts.usage!.charge(ok.decisionId)).toMatchObject({ state: 'reserved' });
        const usageBefore = await core.parts.usage!.usage('team', 'platform', Date.now());

        down = true;
        const failed = await Promise.allSettled(
          Array.from({ length: 3 }, () => core.decide({ policy: '', input: { value: modelCall(who) }, requestId: '', caller: 't' })),
        );
        expect(rejected(failed).map((e) => e.code)).toEqual(['ledger_unavailable', 'ledger_unavailable', 'ledger_unavailable']);
        down = false;

        const db = core.parts.ledger.db;
        expect(db.prepare('SELECT COUNT(*) AS n FROM usage_charges').get()).toEqual({ n: 1 });
        expect(db.prepare('SELECT COUNT(*) AS n FROM usage_requests').get()).toEqual({ n: 1 });
        // Nothing staged by the failed decisions is still counted by reads.
        expect(await core.parts.usage!.usage('team', 'platform', Date.now())).toEqual(usageBefore);
        const history = await core.parts.usage!.history('meter-1', Date.now());
        expect(history.requests_last_minute).toBe(1);

        const after = await core.decide({ policy: '', input: { value: modelCall(who) }, requestId: '', caller: 't' });
        expect(await core.parts.usage!.charge(after.decisionId)).toMatchObject({ state: 'reserved' });
        // Every reservation row belongs to a recorded decision, and the other way round.
        const orphans = db.prepare('SELECT COUNT(*) AS n FROM usage_charges c LEFT JOIN entries e ON e.decision_id = c.decision_id WHERE e.seq IS NULL').get();
        expect(orphans).toEqual({ n: 0 });
      },
      { bundles: BUNDLES, engine: {}, usage: {} },
    ),
  );

  it("decisions evaluated in the same turn see each other's reservations (no budget is spent twice)", async () => {
    const core = await startRuntime({ bundles: BUNDLES, ledger: ':memory:' });
    try {
      const who = { subject: 'burst', team: 'platform', costCenter: 'cc-100' };
      const decisions = await Promise.all(
        Array.from({ length: 20 }, () => core.decide({ policy: '', input: { value: modelCall(who) }, requestId: '', caller: 't' })),
      );
      const reserved = decisions.filter((d) => d.decision !== 'deny').length;
      const team = await core.parts.usage!.usage('team', 'platform', Date.now());
      const rows = core.parts.ledger.db.prepare(`SELECT SUM(tokens) AS t FROM usage_charges WHERE team = 'platform'`).get() as { t: number };
      expect(team.day.reserved_tokens).toBe(rows.t);
      expect(reserved).toBeGreaterThan(0);
      const history = await core.parts.usage!.history('burst', Date.now());
      expect(history.requests_last_minute).toBe(20);
    } finally {
      await core.stop();
    }
  });
});

it('echo decisions through the engine still answer with committed receipts', async () => {
  const core = await startRuntime(coreOptions(join(tempDir(), 'ledger.db')));
  try {
    const ds = await Promise.all(Array.from({ length: 50 }, (_, i) => decideVia(core, echoInput({ subject: `s${i}` }))));
    await expectReceiptsCommitted(
      core,
      ds.map((d) => d.receipt),
    );
  } finally {
    await core.stop();
  }
});
