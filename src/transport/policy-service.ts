import type * as grpc from '@grpc/grpc-js';
import { GavelError } from '../lib/errors.js';
import type { Logger } from '../log.js';
import type { PoliciesFace, ReplayRequest, ReplayRun } from '../runtime/faces.js';
import { callerOf } from './security/guard.js';
import { toServiceError } from './status.js';

/** Progress events at most this often (plus one as the replay starts). */
const PROGRESS_MS = 250;
/**
 * PolicyService.ListBundles: the bundles the engine evaluates with now, with
 * where each came from, who signed it and when it went live (its policy event
 * in the ledger), and what was refused since.
 *
 * PolicyService.Replay: `gavel replay` for tools, against this server's own
 * ledger (see `replayCall`).
 */
export function policyService(policies: PoliciesFace, log: Logger): grpc.UntypedServiceImplementation {
  return {
    Replay: (call: grpc.ServerWritableStream<ReplayRequest, unknown>) => {
      const fail = (err: unknown) => {
        try {
          if (!call.cancelled) call.emit('error', toServiceError(err, log));
        } catch (sendErr) {
          log.error({ err: sendErr }, 'replay: the error status could not be sent');
        }
      };
      replayCall(call, policies, log).catch(fail);
    },
    ListBundles: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      try {
        const status = policies.status();
        const bundles = policies.bundles.map((b) => {
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
 * One Replay call (the runtime's replay: the candidate verified as live bundles are, the recorded
 * decisions evaluated on one worker thread). A cancelled call aborts the replay.
 */
async function replayCall(call: grpc.ServerWritableStream<ReplayRequest, unknown>, policies: PoliciesFace, log: Logger): Promise<void> {
  const abort = new AbortController();
  const cancel = () => abort.abort();
  call.once('cancelled', cancel);
  if (call.cancelled) abort.abort();
  const progress = { done: 0, total: 0 };
  const caller = callerOf(call).id;
  const send = (event: Record<string, unknown>) => {
    if (!call.cancelled) call.write(event);
  };
  let last = Date.now();
  try {
    // Synchronous checks (filter, in-memory ledger, one at a time) throw before anything is awaited.
    const running = policies.replay(call.request, {
      started: (candidate, total) => {
        progress.total = total;
        log.info({ caller, candidate, total }, 'replay started');
        send({ progress: { ...progress } });
      },
      progress: (done, total) => {
        progress.done = done;
        progress.total = total;
        const now = Date.now();
        if (now - last < PROGRESS_MS) return;
        last = now;
        send({ progress: { done, total } });
      },
      signal: abort.signal,
    });
    const run = await running;
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
