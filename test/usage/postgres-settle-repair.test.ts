import { afterEach, describe, expect, it } from 'vitest';
import { GavelError } from '../../src/lib/errors.js';
import { usageConfig } from '../../src/usage/config.js';
import { postgresUsageConfig } from '../../src/usage/postgres/config.js';
import { PostgresUsageStore, type SharedCharge } from '../../src/usage/postgres/store.js';
import type { Settlement } from '../../src/usage/store.js';
import { freshDatabase, postgresForTests, postgresUnavailable, queryAt } from '../helpers/postgres.js';
import { requestsSeen, stageAfterRead, storeReservation, withoutEntry } from './helpers.js';

/**
 * The shared usage store's settlements and its repair from the chains (gavel serve --rebuild-state),
 * on a real PostgreSQL: a settlement that changes nothing leaves no lock behind, one whose entry cannot
 * be recorded is not applied, and a repair is one transaction that every replica's history sees.
 */
const skip = postgresUnavailable();
if (skip) console.warn(`skipping PostgreSQL settle and repair tests: ${skip}`);

const T0 = Date.parse('2026-12-06T12:00:00Z');
const MINUTE = 60_000;
const alice = { subject: 'alice', team: 'platform', costCenter: 'cc-1' };
const since = { ms: T0 - MINUTE, day: '2026-12-06', minute: Math.floor(T0 / MINUTE) - 1 };

describe.skipIf(skip)('settling and repairing the shared usage store', () => {
  const db = postgresForTests();
  /** Stores closed after each test, whether it passed or not. */
  const opened: PostgresUsageStore[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });
  async function open(url: string): Promise<PostgresUsageStore> {
    const store = (await PostgresUsageStore.open(postgresUsageConfig(url, { probeMs: 100, timeoutMs: 1500 }), usageConfig())).store;
    opened.push(store);
    store.attach('ledger-a');
    return store;
  }
  const reserve = (store: PostgresUsageStore, id: string, atMs = T0) =>
    stageAfterRead(store, alice, {
      request: { decisionId: id, subject: 'alice', tool: '', decision: 'allow', atMs },
      reservation: storeReservation(id, atMs, alice),
    });
  const settlement = (id: string, outputTokens = 40): Settlement => ({
    ...alice,
    decisionId: id,
    model: 'standard-m',
    tier: 'standard',
    inputTokens: 10,
    outputTokens,
    costMicros: 50,
    atMs: T0,
  });

  it('a settlement that changes nothing holds no lock; one whose entry cannot be recorded is not applied', async () => {
    const url = await freshDatabase(db, 'settle');
    const [a, b] = [await open(url), await open(url)];
    await reserve(a, 'x');
    expect(await a.settle(settlement('x'), withoutEntry())).toEqual({ kind: 'settled' });
    expect(await a.settle(settlement('x'), withoutEntry())).toEqual({ kind: 'duplicate', tokens: 50, costMicros: 50 });
    // The charge's row is free again at once: another replica's report is answered, not kept waiting past its deadline.
    expect(await b.settle(settlement('x', 41), withoutEntry())).toMatchObject({ kind: 'conflict' });
    expect(await b.settle(settlement('nothing'), withoutEntry())).toEqual({ kind: 'unknown' });

    await reserve(a, 'y');
    // The ledger's refusal is passed on as it is, and says nothing about the usage store's health.
    const refused = new GavelError('ledger_unavailable', 'the ledger refused the entry');
    await expect(
      a.settle(settlement('y'), async () => {
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(a.health.ok).toBe(true);
    expect(await a.charge('y')).toMatchObject({ state: 'reserved', tokens: 300 });
    expect((await a.usage('team', 'platform', T0)).day).toMatchObject({ used_tokens: 50, reserved_tokens: 300 });
    expect(await b.settle(settlement('y'), withoutEntry())).toEqual({ kind: 'settled' });
    // A release is noted in the ledger's transaction, but the shared store is not in it: nothing to write there.
    expect(a.stagedRelease('y').writes).toEqual([]);
  });

  it('a settlement whose own statement the database refuses gives up its connection, not back to the pool mid-transaction', async () => {
    const url = await freshDatabase(db, 'settle_refused');
    // One connection: the next step gets the same one back unless the refused one was given up.
    const store = (await PostgresUsageStore.open(postgresUsageConfig(url, { probeMs: 100, timeoutMs: 1500, poolSize: 1 }), usageConfig())).store;
    opened.push(store);
    store.attach('ledger-a');
    await reserve(store, 'refused');
    await reserve(store, 'fine');
    await queryAt(
      url,
      `CREATE FUNCTION refuse_settling() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.decision_id = 'refused' THEN RAISE EXCEPTION 'the test refuses this settlement'; END IF; RETURN NEW; END $$;
       CREATE TRIGGER refuse_settling BEFORE UPDATE ON gavel_usage_charges FOR EACH ROW EXECUTE FUNCTION refuse_settling()`,
    );
    await expect(store.settle(settlement('refused'), withoutEntry())).rejects.toMatchObject({
      code: 'usage_unavailable',
      message: expect.stringContaining('the test refuses this settlement'),
    });
    // A refusal of one statement is not the store being down.
    expect(store.health.ok).toBe(true);
    expect(await store.settle(settlement('fine'), withoutEntry())).toEqual({ kind: 'settled' });
    expect(await store.charge('refused')).toMatchObject({ state: 'reserved', tokens: 300 });
  });

  it('a repair writes charges, request rows and buckets as the chains have them, and every replica reads its history again', async () => {
    const url = await freshDatabase(db, 'repair');
    const [a, b] = [await open(url), await open(url)];
    await reserve(a, 'kept');
    await a.settle(settlement('kept'), withoutEntry());
    expect(await requestsSeen(b, alice, T0 + 1)).toBe(1);
    const rows = await a.stateRows(['kept'], since);
    expect(rows.minute[0]?.at).toBe(Math.floor(T0 / MINUTE));
    expect(rows.daily[0]?.at).toBe('2026-12-06');
    expect(rows.requests).toEqual([{ decisionId: 'kept', subject: 'alice', tool: '', decision: 'allow', atMs: T0 }]);
    const kept = rows.charges[0]!;
    // A charge from before the store kept who asked (no caller, no asked model), and one routed to another model.
    const baseline = { ...kept, decisionId: 'baseline', caller: undefined, askedModel: undefined } as unknown as SharedCharge;
    const routed: SharedCharge = { ...kept, decisionId: 'routed', model: 'small-m', askedModel: 'standard-m' };
    await a.repairState([baseline, routed], { daily: rows.daily, minute: rows.minute }, since, [
      ...rows.requests,
      { decisionId: 'lost', subject: 'alice', tool: 'search', decision: 'deny', atMs: T0 },
    ]);
    expect(await queryAt(url, `SELECT decision_id, caller, model, asked_model FROM gavel_usage_charges ORDER BY decision_id`)).toEqual([
      { decision_id: 'baseline', caller: '', model: 'standard-m', asked_model: 'standard-m' },
      { decision_id: 'kept', caller: 'gateway', model: 'standard-m', asked_model: 'standard-m' },
      { decision_id: 'routed', caller: 'gateway', model: 'small-m', asked_model: 'standard-m' },
    ]);
    const after = await a.stateRows([], since);
    expect({ daily: after.daily, minute: after.minute }).toEqual({ daily: rows.daily, minute: rows.minute });
    // b read alice's history before: the rows written back reach it all the same.
    expect(await requestsSeen(b, alice, T0 + 2)).toBe(2);
    expect((await b.history('alice', T0 + 2)).denials_last_hour).toBe(1);
    expect(await requestsSeen(a, alice, T0 + 2)).toBe(2);
  });

  it('a repair that fails part way writes nothing', async () => {
    const url = await freshDatabase(db, 'repair');
    const store = await open(url);
    await reserve(store, 'kept');
    await store.settle(settlement('kept'), withoutEntry());
    const rows = await store.stateRows(['kept'], since);
    const changed: SharedCharge = { ...rows.charges[0]!, tokens: 7 };
    const bad = { ...rows.minute[0]!, tier: null } as unknown as (typeof rows.minute)[number];
    await expect(store.repairState([changed], { daily: rows.daily, minute: [bad] }, since, rows.requests)).rejects.toMatchObject({ code: 'usage_unavailable' });
    expect(await store.charge('kept')).toMatchObject({ tokens: 50 });
    expect(await store.stateRows(['kept'], since)).toEqual(rows);
  });
});
