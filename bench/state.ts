/**
 * What keeping usage in the chain costs (issue 24):
 *
 * 1. Decide+Report pairs per second, in-process on the embedded store, with each
 *    settled report an entry of kind `usage` in the chain (now) against the same
 *    settlement written in a transaction of its own with no entry (how reports
 *    were written before): A and B interleaved, three windows each, medians.
 * 2. The start-up check of the state tables against the chain (derive + compare)
 *    on a ledger of --pairs Decide+Report pairs.
 *
 *   npx tsx bench/state.ts --seconds 5 --pairs 20000
 */
import { join } from 'node:path';
import { startRuntime, type Runtime } from '../src/runtime.js';
import type { Ledger } from '../src/engine/ledger.js';
import { compareState } from '../src/state/compare.js';
import { deriveState } from '../src/state/derive.js';
import { applyReport } from '../src/usage/report.js';
import { numberFlag, readFlags } from './lib/args.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { BUNDLES, tempDir } from './lib/paths.js';
import { watchdog } from './lib/process.js';
import { RowWriter } from '../src/ledger/row-writes.js';

const flags = readFlags({ seconds: { type: 'string' }, pairs: { type: 'string' }, concurrency: { type: 'string' } });
const seconds = numberFlag(flags, 'seconds', 5, { min: 0.5 });
const pairs = numberFlag(flags, 'pairs', 20_000, { min: 100, integer: true });
const concurrency = numberFlag(flags, 'concurrency', 32, { min: 1, integer: true });
watchdog(120 + 6 * seconds * 2 + pairs / 200, 'bench/state');

type Variant = 'usage entry' | 'no entry (before)';

/** Settled the old way: the store's writes in an immediate transaction of their own, no chain entry. */
function entryless(core: Runtime): Ledger {
  const writer = new RowWriter(core.parts.ledger.db);
  return {
    async append(_record, staged) {
      const results = core.parts.ledger.db.transaction(() => writer.run(staged?.writes ?? [])).immediate();
      staged?.finish(true, results);
      return { seq: 0, entryHash: '' };
    },
    close: async () => undefined,
  };
}

let counter = 0;
function modelCall(): Buffer {
  const n = counter++;
  return Buffer.from(
    JSON.stringify({
      subject: { id: `u${n % 500}`, type: 'user', roles: ['employee'], team: `t${n % 20}`, cost_center: `cc${n % 5}` },
      action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 200 } },
      content: { prompt: 'Summarise the quarterly report in three bullet points.' },
      context: { environment: 'prod' },
    }),
  );
}

async function pair(core: Runtime, ledger: Ledger): Promise<void> {
  const d = await core.decide({ policy: '', input: { json: modelCall() }, requestId: '', caller: 'bench' });
  if (d.decision !== 'allow') throw new Error(`expected allow, got ${d.decision}`);
  const who = core.parts.ledger.get(d.decisionId)!;
  await applyReport(
    {
      store: core.parts.usage!,
      bundles: core.policies.bundles,
      currency: 'USD',
      findDecision: () => undefined,
      reportFactor: 10,
      ledger,
      now: () => new Date(),
    },
    {
      decisionId: d.decisionId,
      subject: who.subjectId,
      team: who.team,
      costCenter: who.costCenter,
      model: 'standard-m',
      inputTokens: 12,
      outputTokens: 150,
      cost: '',
      reporter: 'bench',
    },
  );
}

async function window(core: Runtime, variant: Variant, ms: number): Promise<number> {
  const ledger = variant === 'usage entry' ? core.parts.ledger : entryless(core);
  const until = performance.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await pair(core, ledger);
        done++;
      }
    }),
  );
  return done / (ms / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function throughput(): Promise<Record<Variant, number>> {
  const dir = tempDir('gavel-bench-state-');
  const core = await startRuntime({ bundles: BUNDLES, ledger: join(dir.path, 'ab.db'), engine: { workers: 0 } });
  try {
    await window(core, 'usage entry', 1000);
    const runs: Record<Variant, number[]> = { 'usage entry': [], 'no entry (before)': [] };
    for (let i = 0; i < 3; i++) {
      for (const v of (i % 2 === 0 ? ['no entry (before)', 'usage entry'] : ['usage entry', 'no entry (before)']) as Variant[]) {
        runs[v].push(await window(core, v, seconds * 1000));
      }
    }
    return { 'usage entry': median(runs['usage entry']), 'no entry (before)': median(runs['no entry (before)']) };
  } finally {
    await core.stop();
    dir.remove();
  }
}

async function startCheck(): Promise<{ entries: number; ms: number }> {
  const dir = tempDir('gavel-bench-state-');
  const file = join(dir.path, 'check.db');
  const core = await startRuntime({ bundles: BUNDLES, ledger: file, engine: { workers: 0 } });
  let made = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (made < pairs) {
        made++;
        await pair(core, core.parts.ledger);
      }
    }),
  );
  const db = core.parts.ledger.db;
  const t0 = performance.now();
  const derived = deriveState(db);
  const mismatches = compareState(db, derived, { usage: { timeZone: 'UTC', rollingMinutes: 60 } });
  const ms = performance.now() - t0;
  await core.stop();
  dir.remove();
  if (mismatches.length > 0) throw new Error(`state disagrees with the chain: ${mismatches.length} rows`);
  return { entries: derived.entries, ms };
}

console.log(machineLine(describeMachine()));
const t = await throughput();
console.log(`| Decide+Report pairs/s (in-process, ${concurrency} in flight, 0 workers, median of 3 × ${seconds} s) | value |`);
console.log('| --- | --- |');
for (const [v, n] of Object.entries(t)) console.log(`| ${v} | ${n.toFixed(0)} |`);
console.log(`| ratio | ${(t['usage entry'] / t['no entry (before)']).toFixed(3)} |`);
const c = await startCheck();
console.log(`\nstate check at start: ${c.entries} entries in ${c.ms.toFixed(0)} ms (${((c.ms * 1000) / c.entries).toFixed(1)} µs per entry)`);
