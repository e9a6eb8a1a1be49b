import type * as grpc from '@grpc/grpc-js';
import type { Decision, DecideInput, Engine } from '../engine/engine.js';
import { GavelError } from '../lib/errors.js';
import type { Logger } from '../log.js';
import type { Effect } from '../engine/result.js';
import { callerOf } from './caller.js';
import type { Metrics } from './metrics.js';
import { toServiceError } from './status.js';
import { structToJson } from './struct.js';

interface DecideRequestMessage {
  policy: string;
  input?: 'input_json' | 'input_struct';
  input_json?: Buffer;
  input_struct?: Parameters<typeof structToJson>[0];
  request_id: string;
}

const DECISION_ENUM: Record<Effect, string> = {
  allow: 'DECISION_ALLOW',
  deny: 'DECISION_DENY',
  require_approval: 'DECISION_REQUIRE_APPROVAL',
  redact: 'DECISION_REDACT',
};

/** Thin adapter: convert the request, call the engine, convert the answer, map errors. */
export function decisionService(engine: Engine, maxDepth: number, log: Logger, metrics?: Metrics): grpc.UntypedServiceImplementation {
  return {
    Decide: (call: grpc.ServerUnaryCall<DecideRequestMessage, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      decide(engine, call, maxDepth)
        .then((d) => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics?.latency.observe({ method: 'Decide' }, seconds);
          metrics?.decisions.inc({ decision: d.decision, entrypoint: d.entrypoint });
          log.debug(
            { decision_id: d.decisionId, decision: d.decision, codes: d.reasons.map((r) => r.code), seq: d.receipt.seq, us: Math.round(seconds * 1e6) },
            'decided',
          );
          callback(null, toMessage(d));
        })
        .catch((err: unknown) => {
          const e = toServiceError(err, log);
          metrics?.errors.inc({ method: 'Decide', code: String(e.metadata?.get('gavel-error-code')[0] ?? 'internal') });
          callback(e);
        });
    },
  };
}

async function decide(engine: Engine, call: grpc.ServerUnaryCall<DecideRequestMessage, unknown>, maxDepth: number): Promise<Decision> {
  const req = call.request;
  const gone = new AbortController();
  const abort = () => gone.abort();
  call.once('cancelled', abort);
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined;
  try {
    return await engine.decide({
      policy: req.policy,
      input: inputOf(req, maxDepth),
      requestId: req.request_id,
      caller: callerOf(call),
      signal: gone.signal,
      ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    });
  } finally {
    call.removeListener('cancelled', abort);
  }
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
    reasons: d.reasons.map((r) => ({ code: r.code, message: r.message, rule: r.rule, effect: r.effect })),
    redacted_input_json: d.redactedInput ? Buffer.from(JSON.stringify(d.redactedInput)) : Buffer.alloc(0),
    redactions: d.redactions,
    obligations_json: Buffer.from(JSON.stringify(d.obligations)),
    policy: d.policy,
    receipt: { seq: d.receipt.seq, entry_hash: d.receipt.entryHash },
    request_id: d.requestId,
    entrypoint: d.entrypoint,
    evaluated_at: d.evaluatedAt,
  };
}
