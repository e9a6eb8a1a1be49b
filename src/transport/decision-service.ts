import type * as grpc from '@grpc/grpc-js';
import type { Cancellation, Decision, DecideFace, DecideInput, DecideRequest, TraceContext } from '../runtime/faces.js';
import { GavelError } from '../lib/errors.js';
import type { Logger } from '../log.js';
import type { Effect } from '../engine/result.js';
import { callerOf } from './security/guard.js';
import type { Metrics } from './metrics.js';
import { toServiceError, toWireError } from './status.js';
import { structToJson } from './struct.js';
import { APPROVAL_STATE, DECISION, enumOf } from './enum-twins.js';
import { parseTraceparent, traceOf } from './trace-context.js';
import { wireReceipt } from '../runtime/faces.js';

interface DecideRequestMessage {
  policy: string;
  input?: 'input_json' | 'input_struct';
  input_json?: Buffer;
  input_struct?: Parameters<typeof structToJson>[0];
  request_id: string;
  /** DecideStream only: this request's own traceparent. */
  traceparent?: string;
}

const DECISION_ENUM: Record<Effect, string> = {
  allow: 'DECISION_ALLOW',
  deny: 'DECISION_DENY',
  require_approval: 'DECISION_REQUIRE_APPROVAL',
  redact: 'DECISION_REDACT',
};

/** Decisions one DecideStream holds in flight before the server stops reading its requests. */
export const STREAM_MAX_IN_FLIGHT = 256;

export interface DecisionServiceOptions {
  /** Per DecideStream call; default STREAM_MAX_IN_FLIGHT. */
  streamMaxInFlight?: number;
}

/** Thin adapter: convert the request, call the engine, convert the answer, map errors. */
export function decisionService(
  decide: DecideFace,
  maxDepth: number,
  log: Logger,
  metrics?: Metrics,
  options: DecisionServiceOptions = {},
): grpc.UntypedServiceImplementation {
  const maxInFlight = options.streamMaxInFlight ?? STREAM_MAX_IN_FLIGHT;
  return {
    Decide: (call: grpc.ServerUnaryCall<DecideRequestMessage, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      const trace = traceOf(call.metadata);
      decideOne(decide, call, maxDepth, trace)
        .then((d) => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          answered(metrics, log, d, { method: 'Decide', seconds, trace });
          callback(null, toMessage(d));
        })
        .catch((err: unknown) => {
          const e = toServiceError(err, log);
          metrics?.errors.inc({ method: 'Decide', code: String(e.metadata?.get('gavel-error-code')[0] ?? 'internal') });
          callback(e);
        });
    },
    DecideStream: (call: grpc.ServerDuplexStream<DecideRequestMessage, unknown>) => decideStream(decide, call, { maxDepth, maxInFlight, log, metrics }),
  };
}

async function decideOne(
  decide: DecideFace,
  call: grpc.ServerUnaryCall<DecideRequestMessage, unknown>,
  maxDepth: number,
  trace: TraceContext | undefined,
): Promise<Decision> {
  const req = call.request;
  // A flag the engine reads, not an AbortController: nothing listens for this abort, and one costs about 3 µs a call here.
  const gone = { aborted: false };
  const abort = () => {
    gone.aborted = true;
  };
  call.once('cancelled', abort);
  try {
    return await decide(engineRequest(req, maxDepth, callerOf(call).id, gone, deadlineOf(call), trace));
  } finally {
    call.removeListener('cancelled', abort);
  }
}

function engineRequest(
  req: DecideRequestMessage,
  maxDepth: number,
  caller: string,
  signal: Cancellation,
  deadlineMs: number | undefined,
  trace: TraceContext | undefined,
): DecideRequest {
  return {
    policy: req.policy,
    input: inputOf(req, maxDepth),
    requestId: req.request_id,
    caller,
    signal,
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    ...(trace ? { trace } : {}),
  };
}

export function deadlineOf(call: { getDeadline(): grpc.Deadline }): number | undefined {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined;
}

interface StreamContext {
  maxDepth: number;
  maxInFlight: number;
  log: Logger;
  metrics: Metrics | undefined;
}

/**
 * DecideStream: each request is decided as it arrives and answered, with its
 * request_id, as soon as its decision is committed (decide resolves
 * only after the ledger COMMIT), so answers leave in commit order, not request
 * order. A refused request is answered with a StreamError; the call goes on.
 *
 * Backpressure, not refusal: while `maxInFlight` decisions are in flight, or
 * the client has left answers unread (the writable side needs a drain), the
 * server pauses reading. grpc-js then stops pulling messages off the HTTP/2
 * stream, whose flow-control window holds back the client's writes. Memory per
 * stream stays bounded: maxInFlight decisions, the readable buffer (16
 * messages) and the writable buffer (16 answers, plus those finishing while it
 * was full).
 *
 * Half-close ends the call (OK) once every decision in flight is answered;
 * cancel or deadline aborts the shared signal, so decisions in flight are
 * abandoned exactly as a cancelled Decide is, and nothing more is written.
 */
function decideStream(decide: DecideFace, call: grpc.ServerDuplexStream<DecideRequestMessage, unknown>, o: StreamContext): void {
  const gone = new AbortController();
  // Metadata and peer are per call: one caller for every decision on the stream.
  const caller = callerOf(call).id;
  const deadlineMs = deadlineOf(call);
  // So is the trace, unless a request names its own (a client span per decision on the stream).
  const trace = traceOf(call.metadata);
  let inFlight = 0;
  let halfClosed = false;
  const open = () => !gone.signal.aborted && !call.destroyed && !call.writableEnded;
  const flow = () => {
    if (!open()) return;
    if (inFlight >= o.maxInFlight || call.writableNeedDrain) call.pause();
    else call.resume();
  };
  const endIfDone = () => {
    if (halfClosed && inFlight === 0 && open()) call.end();
  };
  o.metrics?.streams.inc();
  call.once('close', () => o.metrics?.streams.dec());
  call.once('cancelled', () => gone.abort());
  call.on('drain', flow);
  call.on('end', () => {
    halfClosed = true;
    endIfDone();
  });
  call.on('data', (req: DecideRequestMessage) => {
    inFlight++;
    flow();
    const started = process.hrtime.bigint();
    answer(decide, req, { caller, signal: gone.signal, deadlineMs, trace: parseTraceparent(req.traceparent) ?? trace }, started, o).then(
      (message) => {
        inFlight--;
        if (!open()) return;
        call.write(message);
        flow();
        endIfDone();
      },
      (err: unknown) => o.log.error({ err }, 'DecideStream: answering failed'),
    );
  });
}

/** One request of a stream, decided; never rejects: a refusal becomes a StreamError answer. */
async function answer(
  decide: DecideFace,
  req: DecideRequestMessage,
  call: { caller: string; signal: AbortSignal; deadlineMs: number | undefined; trace: TraceContext | undefined },
  started: bigint,
  o: StreamContext,
): Promise<Record<string, unknown>> {
  try {
    const d = await decide(engineRequest(req, o.maxDepth, call.caller, call.signal, call.deadlineMs, call.trace));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    answered(o.metrics, o.log, d, { method: 'DecideStream', seconds, trace: call.trace });
    return { request_id: d.requestId, decision: toMessage(d) };
  } catch (err) {
    const e = toWireError(err, o.log);
    o.metrics?.errors.inc({ method: 'DecideStream', code: e.errorCode });
    return { request_id: req.request_id, error: { code: e.code, error_code: e.errorCode, message: e.message } };
  }
}

/** A decision answered: counted, timed and logged (ids, outcome, codes, seq: never the input). */
function answered(
  metrics: Metrics | undefined,
  log: Logger,
  d: Decision,
  o: { method: 'Decide' | 'DecideStream'; seconds: number; trace: TraceContext | undefined },
): void {
  metrics?.latency.observe({ method: o.method }, o.seconds);
  metrics?.decisions.inc({ decision: d.decision, entrypoint: d.entrypoint });
  if (d.replayed) metrics?.replayed.inc({ method: o.method });
  // The line's fields are built only when it is written (at the default level, info, it is not).
  if (!log.isLevelEnabled('debug')) return;
  log.debug(
    {
      decision_id: d.decisionId,
      decision: d.decision,
      codes: d.reasons.map((r) => r.code),
      seq: d.receipt.seq,
      us: Math.round(o.seconds * 1e6),
      ...(o.method === 'DecideStream' ? { stream: true } : {}),
      ...(d.replayed ? { replayed: true } : {}),
      ...(o.trace ? { trace_id: o.trace.traceId } : {}),
    },
    'decided',
  );
}

function inputOf(req: DecideRequestMessage, maxDepth: number): DecideInput {
  if (req.input === 'input_json' && req.input_json) return { json: req.input_json };
  if (req.input === 'input_struct' && req.input_struct) return { value: structToJson(req.input_struct, maxDepth) };
  throw new GavelError('invalid_input', 'request has no input: set input_json (a JSON object) or input_struct');
}

function toMessage(d: Decision): Record<string, unknown> {
  return {
    decision_id: d.decisionId,
    decision: DECISION_ENUM[d.decision],
    reasons: d.reasons.map((r) => ({ code: r.code, message: r.message, rule: r.rule, effect: r.effect, effect_enum: enumOf(DECISION, r.effect) })),
    redacted_input_json: d.redactedInput ? Buffer.from(JSON.stringify(d.redactedInput)) : Buffer.alloc(0),
    redactions: d.redactions,
    obligations_json: Buffer.from(JSON.stringify(d.obligations)),
    policy: d.policy,
    receipt: wireReceipt(d.receipt),
    request_id: d.requestId,
    entrypoint: d.entrypoint,
    evaluated_at: d.evaluatedAt,
    replayed: d.replayed === true,
    ...(d.approval
      ? {
          approval: {
            approval_id: d.approval.id,
            expires_at: d.approval.expiresAt,
            approvers: d.approval.approvers,
            state: d.approval.state,
            min_approvals: d.approval.minApprovals,
            state_enum: enumOf(APPROVAL_STATE, d.approval.state),
          },
        }
      : {}),
  };
}
