import Database from 'better-sqlite3';
import { readBundle } from '../bundles/bundle.js';
import type { BundleVerification } from '../bundles/verification-keys.js';
import type { EvaluatorLimits } from '../engine/evaluator.js';
import { replay, type ReplayRun } from '../engine/replay/replayer.js';
import { LedgerRecordedDecisions, recordedFilter } from '../ledger/recorded-decisions.js';
import { GavelError } from '../lib/errors.js';
import type { ReplayHooks, ReplayRequest } from './faces.js';

/** The name the candidate goes by in the report (the request carries bytes, not a file name). */
const CANDIDATE = 'candidate';

export interface ReplayDeps {
  /** The ledger's file; ":memory:" cannot be replayed. */
  ledgerPath: string;
  /** What relative `since`/`until` (24h, 7d) count back from. */
  now: () => Date;
  /** The live bundles' verification: a candidate must pass it too (the server runs only signed code). */
  verification: BundleVerification | undefined;
  /** The live evaluators' wasm memory (a recorded out-of-memory deny reproduces). */
  limits: EvaluatorLimits;
}

/**
 * Replays of this runtime's recorded decisions, one at a time: each takes a worker thread and a
 * reader of the ledger file. The candidate is parsed (and verified, when bundles are), the recorded
 * decisions are read on a read-only connection of their own (the writer's connection cannot be
 * iterated while it appends) and evaluated on one worker thread, never the I/O thread.
 */
export function replays(deps: ReplayDeps): (request: ReplayRequest, hooks: ReplayHooks) => Promise<ReplayRun> {
  let running = false;
  return (request, hooks) => {
    const filter = recordedFilter(request, deps.now());
    if (deps.ledgerPath === ':memory:' || deps.ledgerPath === '') {
      throw new GavelError('ledger_in_memory', "this server's ledger is in memory: replay needs a ledger file (gavel serve --ledger FILE)");
    }
    // Taken before anything is awaited, so a second call cannot slip in beside the first.
    if (running) throw new GavelError('replay_busy', 'a replay is already running on this server; one runs at a time: retry when it has ended');
    running = true;
    return (async () => {
      if (!request.bundle || request.bundle.length === 0) throw new GavelError('bundle_invalid', 'bundle is required: the candidate .tar.gz');
      const candidate = await readBundle(CANDIDATE, Buffer.from(request.bundle), deps.verification);
      if (request.policy && !candidate.entrypoints.includes(request.policy)) {
        // The replayer refuses it too; checked here so the call fails before any progress is sent.
        throw new GavelError('unknown_entrypoint', `the candidate has no entrypoint "${request.policy}"; it has: ${candidate.entrypoints.join(', ')}`);
      }
      if (hooks.signal.aborted) throw new GavelError('abandoned', 'the replay was cancelled');
      const db = openReader(deps.ledgerPath);
      try {
        const source = new LedgerRecordedDecisions(db, deps.now);
        hooks.started({ revision: candidate.revision, digest: candidate.digest }, source.count(filter));
        return await replay(source, {
          candidate,
          ...(request.policy ? { entrypoint: request.policy } : {}),
          filter,
          workers: 1,
          limits: deps.limits,
          onProgress: hooks.progress,
          signal: hooks.signal,
        });
      } finally {
        db.close();
      }
    })().finally(() => {
      running = false;
    });
  };
}

function openReader(path: string): Database.Database {
  try {
    return new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new GavelError('ledger_unavailable', `the ledger ${path} cannot be opened for reading`, { cause: err });
  }
}
