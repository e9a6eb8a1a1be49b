import type * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { readBundle } from '../bundles/bundle.js';
import type { BundleVerification } from '../bundles/verification-keys.js';
import type { Engine } from '../engine/engine.js';
import type { EvaluatorLimits } from '../engine/evaluator.js';
import type { RecordedFilter } from '../engine/replay/recorded.js';
import { replay, type ReplayRun } from '../engine/replay/replayer.js';
import { LedgerRecordedDecisions, recordedFilter } from '../ledger/recorded-decisions.js';
import type { QueryableLedger } from '../ledger/types.js';
import { GavelError } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { callerOf } from './security/guard.js';
import { toServiceError } from './status.js';

export interface ReplayDeps {
  /** The ledger's file (its writer's `db.name`); ":memory:" cannot be replayed. */
  ledgerPath: string;
  /** What relative `since`/`until` (24h, 7d) count back from. */
  now?: () => Date;
  /** The server's bundle signature verification: a candidate must pass it too (the server runs only signed code). */
  bundleVerification?: BundleVerification;
}

interface ReplayMessage {
  bundle: Buffer;
  policy: string;
  since: string;
  until: string;
  subject: string;
  team: string;
  limit: number;
}

/** Progress events at most this often (plus one as the replay starts). */
const PROGRESS_MS = 250;
/** The name the candidate goes by in the report (the request carries bytes, not a file name). */
const CANDIDATE = 'candidate';
/**
 * PolicyService.ListBundles: the bundles the engine evaluates with now, with
 * where each came from, who signed it and when it went live (its policy event
 * in the ledger), and what was refused since.
 *
 * PolicyService.Replay: `gavel replay` for tools, against this server's own
 * ledger (see `replayCall`).
 */
export function policyService(engine: Engine, ledger: QueryableLedger, log: Logger, deps: ReplayDeps): grpc.UntypedServiceImplementation {
  // One replay at a time per server: it takes a worker thread and a reader of the ledger file.
  let running = false;
  return {
    Replay: (call: grpc.ServerWritableStream<ReplayMessage, unknown>) => {
      const fail = (err: unknown) => {
        try {
          if (!call.cancelled) call.emit('error', toServiceError(err, log));
        } catch (sendErr) {
          log.error({ err: sendErr }, 'replay: the error status could not be sent');
        }
      };
      let filter: RecordedFilter;
      try {
        filter = recordedFilter(call.request, deps.now?.() ?? new Date());
        if (deps.ledgerPath === ':memory:' || deps.ledgerPath === '') {
          throw new GavelError('ledger_in_memory', "this server's ledger is in memory: replay needs a ledger file (gavel serve --ledger FILE)");
        }
        // Taken before anything is awaited, so a second call cannot slip in beside the first.
        if (running) throw new GavelError('replay_busy', 'a replay is already running on this server; one runs at a time: retry when it has ended');
        running = true;
      } catch (err) {
        fail(err);
        return;
      }
      replayCall(call, filter, { ...deps, limits: engine.evaluatorLimits }, log)
        .catch(fail)
        .finally(() => {
          running = false;
        });
    },
    ListBundles: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      try {
        const status = ledger.policyStatus();
        const bundles = engine.policies.bundles.map((b) => {
          const event = status.active.find((s) => s.bundle === b.name && s.digest === b.digest);
          return {
            name: b.name,
            revision: b.revision,
            digest: b.digest,
            source: event?.source ?? '',
            signer: b.signer ?? '',
            activated_at: event?.activatedAt ?? '',
            entrypoints: b.entrypoints,
          };
        });
        const refusals = status.refusals.map((r) => ({ bundle: r.bundle, time: r.time, source: r.source, reason: r.reason }));
        callback(null, { bundles, refusals });
      } catch (err) {
        callback(toServiceError(err, log));
      }
    },
  };
}

/**
 * One Replay call: the candidate parsed (and verified, when the server verifies
 * bundles), the recorded decisions read on a read-only connection of their own
 * (the writer's connection cannot be iterated while it appends) and evaluated
 * on one worker thread, never this one, so live decisions are not held up.
 * A cancelled call aborts the replay; the connection is closed however it ends.
 */
async function replayCall(
  call: grpc.ServerWritableStream<ReplayMessage, unknown>,
  filter: RecordedFilter,
  deps: ReplayDeps & { limits: EvaluatorLimits },
  log: Logger,
): Promise<void> {
  const abort = new AbortController();
  const cancel = () => abort.abort();
  call.once('cancelled', cancel);
  if (call.cancelled) abort.abort();
  const progress = { done: 0, total: 0 };
  const caller = callerOf(call).id;
  try {
    const req = call.request;
    if (!req.bundle || req.bundle.length === 0) throw new GavelError('bundle_invalid', 'bundle is required: the candidate .tar.gz');
    const candidate = await readBundle(CANDIDATE, Buffer.from(req.bundle), deps.bundleVerification);
    if (req.policy && !candidate.entrypoints.includes(req.policy)) {
      // The replayer refuses it too; checked here so the call fails before any progress is sent.
      throw new GavelError('unknown_entrypoint', `the candidate has no entrypoint "${req.policy}"; it has: ${candidate.entrypoints.join(', ')}`);
    }
    if (abort.signal.aborted) throw new GavelError('abandoned', 'the replay was cancelled');
    const db = openReader(deps.ledgerPath);
    let run: ReplayRun;
    try {
      const source = new LedgerRecordedDecisions(db, deps.now);
      const send = (event: Record<string, unknown>) => {
        if (!call.cancelled) call.write(event);
      };
      progress.total = source.count(filter);
      log.info({ caller, candidate: { revision: candidate.revision, digest: candidate.digest }, total: progress.total }, 'replay started');
      send({ progress: { ...progress } });
      let last = Date.now();
      run = await replay(source, {
        candidate,
        ...(req.policy ? { entrypoint: req.policy } : {}),
        filter,
        workers: 1,
        limits: deps.limits,
        onProgress: (done, total) => {
          progress.done = done;
          progress.total = total;
          const now = Date.now();
          if (now - last < PROGRESS_MS) return;
          last = now;
          send({ progress: { done, total } });
        },
        signal: abort.signal,
      });
    } finally {
      db.close();
    }
    if (abort.signal.aborted) throw new GavelError('abandoned', 'the replay was cancelled');
    call.write({ report: wireReport(run) });
    call.end();
    log.info({ caller, replayed: run.replayed, changed: run.changed, approximate: run.approximate, skipped: run.skipped }, 'replay finished');
  } catch (err) {
    // A cancelled call has no one to tell: the abort that ended the replay is expected.
    if (abort.signal.aborted) {
      log.info({ caller, ...progress }, 'replay cancelled');
      return;
    }
    throw err;
  } finally {
    call.removeListener('cancelled', cancel);
  }
}

function openReader(path: string): Database.Database {
  try {
    return new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new GavelError('ledger_unavailable', `the ledger ${path} cannot be opened for reading`, { cause: err });
  }
}

function wireReport(run: ReplayRun): Record<string, unknown> {
  return {
    replayed: run.replayed,
    unchanged: run.unchanged,
    changed: run.changed,
    approximate: run.approximate,
    skipped: run.skipped,
    transitions: run.transitions.map((t) => ({
      from: t.from,
      to: t.to,
      count: t.count,
      reasons_added: t.reasons_added,
      reasons_removed: t.reasons_removed,
      examples: t.examples,
    })),
    // What `gavel replay --json` prints, without its newline.
    report_json: Buffer.from(JSON.stringify(run)),
  };
}
