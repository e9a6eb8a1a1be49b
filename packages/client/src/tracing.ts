import type * as otel from '@opentelemetry/api';
import type { Decision } from './decision.js';
import { toGavelError } from './errors.js';

type Api = typeof otel;
export type SpanAttributes = Record<string, string | number | boolean | string[]>;

/** One SDK call's span, or nothing when @opentelemetry/api is not installed. */
export interface CallTrace {
  /** gRPC metadata to send: the W3C traceparent (and tracestate) of the call's span. */
  headers: Record<string, string>;
  /** Ends the span with these attributes; `degraded` (an offline answer) sets the error status with that message. */
  ok(attributes: SpanAttributes, degraded?: string): void;
  /** Ends the span as failed: the error's code, the exception, the error status. */
  fail(err: unknown): void;
}

const NO_TRACE: CallTrace = { headers: {}, ok: () => undefined, fail: () => undefined };

let loading: Promise<Api | undefined> | undefined;

/** @opentelemetry/api when installed (an optional peer dependency), else undefined: imported once, at the first call, never at import. */
export function otelApi(): Promise<Api | undefined> {
  loading ??= loadOptional(() => import('@opentelemetry/api'));
  return loading;
}

/** The module, or undefined when it cannot be imported (not installed). */
export function loadOptional<T>(load: () => Promise<T>): Promise<T | undefined> {
  return load().then(
    (m) => m,
    () => undefined,
  );
}

/** Starts a client span, a child of the active context, and the headers that carry it to the server. */
export async function startCall(name: string, method: string, load: () => Promise<Api | undefined> = otelApi): Promise<CallTrace> {
  const api = await load();
  if (!api) return NO_TRACE;
  const parent = api.context.active();
  const span = api.trace
    .getTracer('@gavel-pdp/client')
    .startSpan(name, { kind: api.SpanKind.CLIENT, attributes: { 'rpc.system': 'grpc', 'rpc.method': method } }, parent);
  return { headers: traceHeaders(api, api.trace.setSpan(parent, span), span.spanContext()), ...ending(api, span) };
}

/** The registered propagator's headers; with none (the API's no-op), traceparent written from the span itself. */
function traceHeaders(api: Api, ctx: otel.Context, sc: otel.SpanContext): Record<string, string> {
  const headers: Record<string, string> = {};
  api.propagation.inject(ctx, headers);
  if (headers.traceparent === undefined && api.isSpanContextValid(sc)) {
    headers.traceparent = `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  }
  return headers;
}

function ending(api: Api, span: otel.Span): Pick<CallTrace, 'ok' | 'fail'> {
  return {
    ok(attributes, degraded) {
      span.setAttributes(attributes);
      if (degraded !== undefined) span.setStatus({ code: api.SpanStatusCode.ERROR, message: degraded });
      span.end();
    },
    fail(err) {
      const e = toGavelError(err);
      span.setAttribute('gavel.error.code', e.code);
      span.recordException(e);
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: e.message });
      span.end();
    },
  };
}

/** The span's error message when the route's fail mode answered (gavel could not be asked). */
export function degraded(d: Decision): string | undefined {
  return d.offline && `gavel could not be asked (${d.offline.cause}): answered by route ${d.offline.route}'s fail mode`;
}

/** What a decide span says of its Decision. */
export function decisionAttributes(d: Decision): SpanAttributes {
  const out: SpanAttributes = {
    'gavel.decision.outcome': d.outcome,
    'gavel.decision.reason_codes': d.reasons.map((r) => r.code),
    'gavel.decision.id': d.decisionId,
    'gavel.policy.revision': d.policy.revision,
  };
  if (d.offline) Object.assign(out, { 'gavel.offline.mode': d.offline.mode, 'gavel.offline.cause': d.offline.cause, 'gavel.route': d.offline.route });
  return out;
}
