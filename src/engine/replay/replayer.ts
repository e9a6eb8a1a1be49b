import { Worker } from 'node:worker_threads';
import type { Bundle } from '../../bundles/bundle.js';
import { GavelError } from '../../lib/errors.js';
import { WasmEvaluator, type EvaluatorLimits } from '../evaluator.js';
import type { Comparison } from './compare.js';
import type { FromReplayWorker, ReplayWorkerSetup, ToReplayWorker } from './protocol.js';
import type { RecordedDecision, RecordedDecisions, RecordedFilter } from './recorded.js';
import { batchReplayer, type ReplayItem, type ReplayResult } from './replay-one.js';
import { Tally, type ReplayReport } from './tally.js';

const ENTRY = new URL('./replay-worker-entry.mjs', import.meta.url);

export interface ReplayOptions {
  candidate: Bundle;
  /** Evaluate every decision at this entrypoint instead of the one it recorded. */
  entrypoint?: string;
  filter: RecordedFilter;
  /** Worker threads evaluating; 0 (the default) evaluates on this thread, so replay uses one core. */
  workers?: number;
  limits: EvaluatorLimits;
  onProgress?: (done: number, total: number) => void;
  /** Each decision's comparison, in ledger order (tools that list every change; tests). */
  onComparison?: (c: Comparison) => void;
  signal?: AbortSignal;
}

export interface PolicyName {
  bundle: string;
  revision: string;
  digest: string;
}

/** A replay's report, with the candidate and the bundles that made the recorded decisions. */
export interface ReplayRun extends ReplayReport {
  candidate: PolicyName;
  recorded_by: Array<PolicyName & { count: number }>;
}

/** Decisions handed to a worker at once (fewer when their payloads pass BATCH_BYTES), and batches one worker may hold. */
const BATCH = 256;
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCHES_PER_WORKER = 2;

/**
 * Re-evaluates recorded decisions with a candidate bundle and tallies what
 * changed. Read-only: it reads through the RecordedDecisions port and writes
 * nothing, so it can run against a live ledger.
 */
export async function replay(source: RecordedDecisions, o: ReplayOptions): Promise<ReplayRun> {
  if (o.entrypoint && !o.candidate.entrypoints.includes(o.entrypoint)) {
    throw new GavelError(
      'unknown_entrypoint',
      `the candidate ${o.candidate.name} has no entrypoint "${o.entrypoint}"; it has: ${o.candidate.entrypoints.join(', ')}`,
    );
  }
  // Compiled off this thread's critical path (a server's I/O thread keeps answering meanwhile), instantiated once to check it.
  const module = await compile(o.candidate);
  const evaluator = new WasmEvaluator(o.candidate, o.limits, module);
  const total = source.count(o.filter);
  const tally = new Tally();
  const recordedBy = new Map<string, PolicyName & { count: number }>();
  let done = 0;
  const evaluate = (o.workers ?? 0) > 0 ? new WorkerBatches(evaluator, o) : new InlineBatches(evaluator, o);
  try {
    for (const batch of batches(source.read(o.filter))) {
      if (o.signal?.aborted) throw new GavelError('abandoned', 'the replay was cancelled');
      for (const r of batch) {
        const key = `${r.bundle}\u0000${r.revision}\u0000${r.digest}`;
        const seen = recordedBy.get(key) ?? { bundle: r.bundle, revision: r.revision, digest: r.digest, count: 0 };
        seen.count++;
        recordedBy.set(key, seen);
      }
      await evaluate.submit(batch.map(itemOf), (results) => {
        for (const result of results) {
          if ('skipped' in result) tally.skip(result.skipped);
          else {
            tally.add(result.comparison);
            o.onComparison?.(result.comparison);
          }
        }
        done += results.length;
        o.onProgress?.(done, total);
      });
    }
    await evaluate.drain();
  } finally {
    await evaluate.close();
  }
  const { name, revision, digest } = o.candidate;
  return {
    ...tally.report(),
    candidate: { bundle: name, revision, digest },
    recorded_by: [...recordedBy.values()].sort((a, b) => b.count - a.count),
  };
}

async function compile(candidate: Bundle): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(candidate.wasm);
  } catch (err) {
    throw new GavelError('bundle_invalid', `bundle ${candidate.name}: wasm does not compile: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

function itemOf(r: RecordedDecision): ReplayItem {
  return { decisionId: r.decisionId, entrypoint: r.entrypoint, decision: r.decision, reasonCodes: r.reasonCodes, payload: r.payload };
}

function* batches(rows: Iterable<RecordedDecision>): Generator<RecordedDecision[]> {
  let batch: RecordedDecision[] = [];
  let bytes = 0;
  for (const row of rows) {
    batch.push(row);
    bytes += row.payload?.length ?? 0;
    if (batch.length === BATCH || bytes >= BATCH_BYTES) {
      yield batch;
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) yield batch;
}

interface Batches {
  /** Evaluates a batch; `tally` is called with its results in submission order. May return before the batch is done. */
  submit(items: ReplayItem[], tally: (results: ReplayResult[]) => void): Promise<void>;
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** On this thread, yielding to the event loop between batches (a server stays responsive; a cancel is seen). */
class InlineBatches implements Batches {
  private readonly replay: (items: ReplayItem[]) => ReplayResult[];

  constructor(evaluator: WasmEvaluator, o: ReplayOptions) {
    this.replay = batchReplayer(o.candidate, evaluator, o.entrypoint);
  }

  async submit(items: ReplayItem[], tally: (results: ReplayResult[]) => void): Promise<void> {
    tally(this.replay(items));
    await new Promise((resolve) => setImmediate(resolve));
  }

  async drain(): Promise<void> {}
  async close(): Promise<void> {}
}

interface Lane {
  worker: Worker;
  inFlight: number;
  failure?: Error;
}

/** On worker threads, each with its own instance; results are tallied in the order the batches were read. */
class WorkerBatches implements Batches {
  private readonly lanes: Lane[] = [];
  private readonly waiting = new Map<number, (results: ReplayResult[]) => void>();
  private readonly finished = new Map<number, ReplayResult[]>();
  private nextId = 0;
  private nextToTally = 0;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(evaluator: WasmEvaluator, o: ReplayOptions) {
    const { wasm: _bytes, ...bundle } = o.candidate;
    const setup: ReplayWorkerSetup = { bundle, module: evaluator.compiled, limits: o.limits, ...(o.entrypoint ? { entrypoint: o.entrypoint } : {}) };
    for (let i = 0; i < (o.workers ?? 1); i++) {
      const lane: Lane = { worker: new Worker(ENTRY, { workerData: setup, name: `gavel-replay-${i}` }), inFlight: 0 };
      lane.worker.on('message', (m: FromReplayWorker) => this.onMessage(lane, m));
      lane.worker.on('error', (err) => this.fail(new GavelError('internal', `replay worker ${i} failed: ${err.message}`)));
      lane.worker.on('exit', (code) => {
        if (lane.inFlight > 0) this.fail(new GavelError('internal', `replay worker ${i} exited (code ${code}) with work in hand`));
      });
      this.lanes.push(lane);
    }
    // A cancel stops the workers mid-batch (a slow candidate would otherwise finish its batch first).
    o.signal?.addEventListener('abort', () => this.fail(new GavelError('abandoned', 'the replay was cancelled')), { once: true });
  }

  async submit(items: ReplayItem[], tally: (results: ReplayResult[]) => void): Promise<void> {
    let lane = this.freeLane();
    while (!lane) {
      await this.waitForProgress();
      lane = this.freeLane();
    }
    const id = this.nextId++;
    this.waiting.set(id, tally);
    lane.inFlight++;
    lane.worker.postMessage({ t: 'batch', id, items } satisfies ToReplayWorker);
  }

  async drain(): Promise<void> {
    while (this.nextToTally < this.nextId) await this.waitForProgress();
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.worker.terminate()));
  }

  private freeLane(): Lane | undefined {
    if (this.failure) throw this.failure;
    let best: Lane | undefined;
    for (const lane of this.lanes) if (lane.inFlight < BATCHES_PER_WORKER && (!best || lane.inFlight < best.inFlight)) best = lane;
    return best;
  }

  private waitForProgress(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private onMessage(lane: Lane, m: FromReplayWorker): void {
    lane.inFlight--;
    if (m.t === 'fault') {
      this.fail(new GavelError('internal', `replay evaluation failed: ${m.message}`));
      return;
    }
    this.finished.set(m.id, m.results);
    // Tally in read order, so examples are the oldest decisions of each transition.
    while (this.finished.has(this.nextToTally)) {
      const results = this.finished.get(this.nextToTally)!;
      this.finished.delete(this.nextToTally);
      this.waiting.get(this.nextToTally)?.(results);
      this.waiting.delete(this.nextToTally);
      this.nextToTally++;
    }
    this.poke();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.poke();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
