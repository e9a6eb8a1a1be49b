import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { GavelError } from '../../src/lib/errors.js';
import { isContention, isDown } from '../../src/usage/postgres/failure.js';
import { ProbedHealth, schemaFailure } from '../../src/usage/postgres/health.js';
import { int, literal, text, texts } from '../../src/usage/postgres/sql.js';

/** The pieces of the shared store that need no database: how a failure is read, and the health that probes it back. */
function dbError(code: string): pg.DatabaseError {
  const e = new pg.DatabaseError('from the server', 0, 'error');
  e.code = code;
  return e;
}

describe('reading a failure of the usage store', () => {
  it('a client-side failure (refused, reset, timed out) is the database down', () => {
    expect(isDown(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDown(new Error('Query read timeout'))).toBe(true);
    expect(isDown(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBe(true);
  });

  it.each([
    ['08006', true],
    ['08001', true],
    ['57P01', true],
    ['57P03', true],
    ['57014', true],
    ['53300', true],
    ['53100', true],
    ['55P03', false],
    ['40001', false],
    ['40P01', false],
    ['22021', false],
    ['23505', false],
    ['42P01', false],
    ['57000', false],
    ['X0853', false],
  ])('SQLSTATE %s: down %s', (code, down) => {
    expect(isDown(dbError(code))).toBe(down);
  });

  it('lock and serialization waits are contention, nothing else is', () => {
    for (const code of ['55P03', '40001', '40P01']) expect(isContention(dbError(code))).toBe(true);
    for (const code of ['57014', '08006', '22021', '55P0', '4000']) expect(isContention(dbError(code))).toBe(false);
    expect(isContention(new Error('no code'))).toBe(false);
  });
});

describe('ProbedHealth', () => {
  const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('goes down once, probes until an answer, says why meanwhile, and comes back up', async () => {
    let answers = false;
    let probes = 0;
    let recovered = 0;
    const h = new ProbedHealth(
      async () => {
        probes++;
        if (!answers) throw new Error('still down');
      },
      10,
      () => recovered++,
    );
    const seen: Array<[boolean, string]> = [];
    h.onChange((ok, reason) => seen.push([ok, reason]));
    expect([h.ok, h.reason]).toEqual([true, '']);
    h.failed('usage store x: connection refused');
    h.failed('a second failure while down changes nothing');
    expect([h.ok, h.reason]).toEqual([false, 'usage store x: connection refused']);
    await tick(60);
    expect(probes).toBeGreaterThanOrEqual(2);
    expect(h.ok).toBe(false);
    // The reason keeps the first cause and adds the last probe's, once.
    expect(h.reason).toBe('usage store x: connection refused (last probe: still down)');
    answers = true;
    await expect.poll(() => h.ok).toBe(true);
    expect(h.reason).toBe('');
    expect(recovered).toBe(1);
    expect(seen).toEqual([
      [false, 'usage store x: connection refused'],
      [true, ''],
    ]);
    // Healthy: no more probing.
    const after = probes;
    await tick(40);
    expect(probes).toBe(after);
    h.stop();
  });

  it('stopped, it neither probes nor reports any more, and ignores failures', async () => {
    let probes = 0;
    const h = new ProbedHealth(async () => {
      probes++;
      throw new Error('down');
    }, 10);
    const seen: boolean[] = [];
    h.onChange((ok) => seen.push(ok));
    h.failed('down');
    await tick(35);
    h.stop();
    const at = probes;
    await tick(50);
    expect(probes).toBe(at);
    h.failed('after stop');
    expect(seen).toEqual([false]);
  });

  it('a probe that answers after stop does not bring it back', async () => {
    let release: () => void = () => undefined;
    const h = new ProbedHealth(() => new Promise<void>((r) => (release = r)), 5);
    h.failed('down');
    await tick(30);
    h.stop();
    release();
    await tick(10);
    expect(h.ok).toBe(false);
  });

  it('a probe that fails after stop schedules none after it, and leaves the reason as it was', async () => {
    let fail: (err: Error) => void = () => undefined;
    let probes = 0;
    const h = new ProbedHealth(() => {
      probes++;
      return new Promise<void>((_, reject) => (fail = reject));
    }, 5);
    h.failed('down');
    await tick(30);
    expect(probes).toBe(1);
    h.stop();
    fail(new Error('still down'));
    await tick(30);
    expect(probes).toBe(1);
    expect(h.reason).toBe('down');
  });
});

describe("values inlined into the shared store's statements", () => {
  it('text is quoted by the client library; an integer must be a safe integer; NULL for null and undefined', () => {
    expect(text("it's")).toBe("'it''s'");
    expect(text('a\\b')).toBe(" E'a\\\\b'");
    expect(texts([])).toBe(`'{}'::text[]`);
    expect(texts(['a', "b'"])).toBe(`ARRAY['a', 'b''']::text[]`);
    expect(int(42)).toBe('42');
    expect(int(-7)).toBe('-7');
    for (const bad of [1.5, Number.NaN, 2 ** 53]) {
      expect(() => int(bad)).toThrow(new GavelError('usage_unavailable', `not an integer for the usage store: ${bad}`));
      expect(() => int(bad)).toThrow(expect.objectContaining({ code: 'usage_unavailable' }));
    }
    expect(literal(null)).toBe('NULL');
    expect(literal(undefined)).toBe('NULL');
    expect(literal(3)).toBe('3');
    expect(literal('3')).toBe("'3'");
    expect(literal(true)).toBe("'true'");
  });

  it('a refused privilege, a missing table or column take the store down with the way out; other failures do not', () => {
    expect(schemaFailure(dbError('42501'))).toBe("gavel's role was refused (from the server): grant it back its privileges on the gavel_usage_* tables");
    expect(schemaFailure(dbError('42P01'))).toBe(
      'a table of the usage store is missing (from the server): `gavel usage migrate` recreates it (its rows are lost)',
    );
    expect(schemaFailure(dbError('42703'))).toBe('a column of the usage store is missing (from the server): restore it');
    expect(schemaFailure(dbError('23505'))).toBeUndefined();
    expect(schemaFailure(new Error('42501'))).toBeUndefined();
  });
});
