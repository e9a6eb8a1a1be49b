import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Bundle } from '../../src/bundles/bundle.js';
import { loadBundles } from '../../src/bundles/loader.js';
import { engineConfig } from '../../src/engine/config.js';
import type { Comparison } from '../../src/engine/replay/compare.js';
import type { RecordedDecision, RecordedDecisions } from '../../src/engine/replay/recorded.js';
import { replay, type ReplayOptions } from '../../src/engine/replay/replayer.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';
import { refusal } from '../helpers/refusal.js';

/**
 * Replay over its port (engine/replay/replayer.ts), in this process: recorded decisions held in
 * memory, the real fixtures bundle as the candidate (`fixtures/echo` answers with input.result),
 * evaluated on this thread or on replay workers. Batches are what a reader sees of them: progress
 * is reported once per batch, and results are tallied in the order the decisions were read.
 */

const [fixtures] = loadBundles(FIXTURE_BUNDLES) as [Bundle];
const limits = engineConfig({});

/** `n` recorded decisions, each allowed, which the candidate answers as `answer(i)` says. */
function recorded(n: number, answer: (i: number) => unknown = () => ({ decision: 'deny', reasons: [{ code: 'no', effect: 'deny', rule: 'r' }] }), pad = 0) {
  return Array.from(
    { length: n },
    (_, i): RecordedDecision => ({
      seq: i + 1,
      decisionId: `d-${i + 1}`,
      time: new Date(Date.UTC(2026, 11, 1) + i * 1000).toISOString(),
      entrypoint: 'fixtures/echo',
      bundle: i % 3 === 0 ? 'old' : 'older',
      revision: 'r1',
      digest: i % 3 === 0 ? 'a' : 'b',
      decision: 'allow',
      reasonCodes: ['ok'],
      payload: JSON.stringify({ input: { result: answer(i), pad: 'x'.repeat(pad) }, result: {} }),
    }),
  );
}

function source(rows: RecordedDecision[]): RecordedDecisions {
  return { count: () => rows.length, read: () => rows };
}

async function run(rows: RecordedDecision[], over: Partial<ReplayOptions> = {}) {
  const progress: number[] = [];
  const compared: Comparison[] = [];
  const report = await replay(source(rows), {
    candidate: fixtures,
    filter: {},
    limits,
    onProgress: (done, total) => progress.push(done, total),
    onComparison: (c) => compared.push(c),
    ...over,
  });
  return { report, progress, compared };
}

const ALLOW = { decision: 'allow', reasons: [{ code: 'ok', effect: 'allow', rule: 'r' }] };

describe('replay', () => {
  it('reads in batches of 256: progress once per batch, out of the count', async () => {
    const { report, progress, compared } = await run(recorded(600));
    expect(progress).toEqual([256, 600, 512, 600, 600, 600]);
    expect([report.replayed, report.changed, report.unchanged]).toEqual([600, 600, 0]);
    expect(compared.map((c) => c.decisionId)).toEqual(recorded(600).map((r) => r.decisionId));
  });

  it('a batch ends once its payloads reach 4 MiB, and the next starts from nothing', async () => {
    // Payloads of exactly 1 MiB each: four make a batch.
    const overhead = recorded(1)[0]!.payload!.length;
    const rows = recorded(8, undefined, 1024 * 1024 - overhead);
    expect(rows.every((r) => r.payload!.length === 1024 * 1024)).toBe(true);
    const { progress } = await run(rows);
    expect(progress).toEqual([4, 8, 8, 8]);
  });

  it('names the bundles that made the recorded decisions, the most decisions first', async () => {
    const { report } = await run(recorded(7, (i) => (i % 2 === 0 ? ALLOW : { decision: 'deny' })));
    expect(report.recorded_by).toEqual([
      { bundle: 'older', revision: 'r1', digest: 'b', count: 4 },
      { bundle: 'old', revision: 'r1', digest: 'a', count: 3 },
    ]);
    expect(report.candidate).toEqual({ bundle: fixtures.name, revision: fixtures.revision, digest: fixtures.digest });
    expect([report.unchanged, report.changed]).toEqual([4, 3]);
  });

  it('on two replay workers: the same report, progress in read order, comparisons in ledger order', async () => {
    const rows = recorded(1400, (i) => (i % 5 === 0 ? ALLOW : { decision: 'deny' }));
    const inline = await run(rows);
    const workers = await run(rows, { workers: 2 });
    expect(workers.report).toEqual(inline.report);
    expect(workers.report.transitions[0]!.examples).toEqual(['d-2', 'd-3', 'd-4', 'd-5', 'd-7']);
    expect(workers.progress).toEqual(inline.progress);
    expect(workers.compared).toEqual(inline.compared);
  });

  it('an entrypoint the candidate does not have is refused before anything is read', async () => {
    const err = await refusal(run(recorded(3), { entrypoint: 'fixtures/nowhere' }));
    expect(err.code).toBe('unknown_entrypoint');
    expect(err.message).toBe(`the candidate ${fixtures.name} has no entrypoint "fixtures/nowhere"; it has: ${fixtures.entrypoints.join(', ')}`);
  });

  it('a candidate whose wasm does not compile is refused as bundle_invalid', async () => {
    const err = await refusal(run(recorded(3), { candidate: { ...fixtures, wasm: new Uint8Array([0, 1, 2, 3]) } }));
    expect(err.code).toBe('bundle_invalid');
    expect(err.message).toMatch(new RegExp(`^bundle ${fixtures.name}: wasm does not compile: `));
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('an entrypoint given is evaluated on the workers too, and no listener for comparisons is needed', async () => {
    const rows = recorded(5).map((r) => ({ ...r, entrypoint: 'gone/entrypoint' }));
    const skipped = await replay(source(rows), { candidate: fixtures, filter: {}, limits, workers: 2 });
    expect([skipped.replayed, skipped.skipped_detail]).toEqual([0, { entrypoint_missing: 5 }]);
    const given = await replay(source(rows), { candidate: fixtures, filter: {}, limits, workers: 2, entrypoint: 'fixtures/echo' });
    expect([given.replayed, given.changed]).toEqual([5, 5]);
  });

  it("the workers' threads end with the replay, finished or refused", async () => {
    const threads = () => readdirSync('/proc/self/task').length;
    await run(recorded(10), { workers: 2 });
    const before = threads();
    await run(recorded(600), { workers: 2 });
    expect(threads()).toBe(before);
    const ac = new AbortController();
    await refusal(run(recorded(2000), { workers: 2, signal: ac.signal, onProgress: () => ac.abort() }));
    expect(threads()).toBe(before);
  });

  it('cancelled while its last batches are with the workers: they stop, and the replay is abandoned', async () => {
    // Every batch is handed over at once (two workers hold two each); each decision takes a while (fixtures/hungry).
    const rows = recorded(600).map((r) => ({ ...r, payload: JSON.stringify({ input: { n: 200_000 }, result: {} }) }));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const err = await refusal(run(rows, { workers: 2, entrypoint: 'fixtures/hungry', signal: ac.signal }));
    expect([err.code, err.message]).toEqual(['abandoned', 'the replay was cancelled']);
  });

  it.each([0, 2])('a cancelled replay stops: abandoned (workers: %i)', async (workers) => {
    const ac = new AbortController();
    const err = await refusal(
      run(recorded(2000), {
        workers,
        signal: ac.signal,
        onProgress: () => ac.abort(),
      }),
    );
    expect(err.code).toBe('abandoned');
    expect(err.message).toBe('the replay was cancelled');
  });
});
