import type Database from 'better-sqlite3';
import type { Bundle } from '../../src/bundles/bundle.js';
import { loadBundles } from '../../src/bundles/loader.js';
import { engineConfig } from '../../src/engine/config.js';
import { Engine, type EngineDeps } from '../../src/engine/engine.js';
import type { EntryRecord, Ledger, Receipt, StagedWrite } from '../../src/engine/ledger.js';
import type { DecisionMeter, MeteredContext, MeteredDecision, MeteredWrite, UsageSnapshot } from '../../src/engine/meter.js';
import { PolicySet } from '../../src/engine/policies.js';
import { InlineRunner } from '../../src/engine/runner.js';
import type { UsageFacts } from '../../src/engine/usage-facts.js';
import { RowWriter } from '../../src/ledger/row-writes.js';
import { FIXTURE_BUNDLES } from './paths.js';

/**
 * The engine's ports implemented here as the contracts in engine/ledger.ts and engine/meter.ts describe
 * them, over the real fixture bundle (`fixtures/echo` answers with input.result): for tests that drive
 * `Engine` itself and look at what it asks of each port.
 */

export const bundles = loadBundles(FIXTURE_BUNDLES);

export class MemoryLedger implements Ledger {
  records: Array<{ record: EntryRecord; staged: StagedWrite | undefined }> = [];
  failWith: unknown;
  /** `log`: where each staged row write is noted ('write') as it is written; `db`: where its rows go, when given. */
  constructor(
    private readonly log?: string[],
    private readonly db?: Database.Database,
  ) {}
  async append(record: EntryRecord, staged?: StagedWrite): Promise<Receipt> {
    if (this.failWith !== undefined) {
      staged?.finish(false, []);
      throw this.failWith;
    }
    this.records.push({ record, staged });
    const writes = staged?.writes ?? [];
    for (const _ of writes) this.log?.push('write');
    staged?.finish(true, this.db ? new RowWriter(this.db).run(writes) : writes.map(() => ({ changes: 1, rows: [] })));
    return { seq: this.records.length, entryHash: `hash-${this.records.length}` };
  }
  async close(): Promise<void> {}
}

/** A meter whose snapshot holds only when `current` says so; it logs every call. */
export class ScriptedMeter implements DecisionMeter {
  calls: string[] = [];
  current: (attempt: number) => boolean = () => true;
  contextError: unknown;
  onContext: (() => void) | undefined;
  stageError: unknown;
  /** The request each context left out of the usage it read (`replacing`), in order. */
  replaced: Array<string | undefined> = [];
  /** Snapshots ended (each attempt's read ends, staged or not). */
  ended = 0;
  private attempts = 0;
  keys(facts: UsageFacts): string[] {
    return [facts.subject];
  }
  async context(_facts: UsageFacts, _bundle: Bundle, _now: Date, replacing?: string): Promise<MeteredContext> {
    this.calls.push('context');
    this.replaced.push(replacing);
    this.onContext?.();
    if (this.contextError !== undefined) throw this.contextError;
    return { context: { usage: { marker: 'from-meter' } }, snapshot: { end: () => void this.ended++ } };
  }
  stage(d: MeteredDecision, _snapshot: UsageSnapshot): MeteredWrite | undefined {
    this.calls.push(`stage:${d.decisionId.length > 0}`);
    if (this.stageError !== undefined) throw this.stageError;
    if (!this.current(++this.attempts)) return undefined;
    // One row write (a harmless one: its noting by the ledger is what counts).
    return { writes: [{ sql: 'SELECT 1', params: [] }], finish: (ok) => this.calls.push(`finish:${ok}`), payload: { marker: 'usage' } };
  }
  async release(decisionId: string): Promise<void> {
    this.calls.push(`release:${decisionId.length > 0}`);
  }

  stagedRelease(): StagedWrite {
    this.calls.push('stagedRelease');
    return { writes: [], finish: () => undefined };
  }
}

/** The engine's own parts: the fixture entrypoint as default, its policy set, and this thread to evaluate on. */
export function parts() {
  const config = engineConfig({ defaultEntrypoint: 'fixtures/echo' });
  return { config, policies: new PolicySet(config), runner: new InlineRunner(config) };
}

export function engine(meter?: DecisionMeter, now?: () => Date, deps: Partial<EngineDeps> = {}) {
  const ledger = new MemoryLedger(meter instanceof ScriptedMeter ? meter.calls : undefined);
  const e = new Engine({ ...parts(), ledger, ...(meter ? { meter } : {}), ...(now ? { now } : {}), ...deps });
  e.activate(bundles);
  return { engine: e, ledger };
}
