import type * as grpc from '@grpc/grpc-js';
import { parseInputJson } from '../../engine/input.js';
import { errorMessage } from '../../lib/errors.js';
import { isJsonObject, type JsonObject } from '../../lib/json.js';
import type { Logger } from '../../log.js';
import type { Decision, DecideFace, DecideLimits } from '../../runtime/faces.js';
import type { Metrics } from '../metrics.js';
import { callerOf } from '../security/guard.js';
import { traceOf } from '../trace-context.js';
import { type CheckRequestMessage, checkInput, CONTENT_KEYS } from './check-input.js';
import { decisionHeaders, denialOf, type HeaderOption, header } from './check-response.js';
import type { DecidedRequests } from './decided-requests.js';
import type { ExtAuthzConfig } from './ext-authz-config.js';

/** A ProcessingRequest as proto-loader decodes it: what gavel reads of it. */
interface ProcessingRequestMessage {
  request?: string;
  request_headers?: { headers?: { headers?: Array<{ key: string; value?: string; raw_value?: Uint8Array }> } | null; end_of_stream?: boolean };
  request_body?: { body?: Uint8Array; end_of_stream?: boolean };
  metadata_context?: { filter_metadata?: Record<string, unknown> } | null;
}

export interface ProcessorOptions {
  config: ExtAuthzConfig;
  limits: DecideLimits;
  /** The ext_authz decisions waiting for their body phase. */
  decided: DecidedRequests;
  log: Logger;
  metrics?: Metrics;
}

const CONTINUE = { status: 'CONTINUE' };

/**
 * envoy.service.ext_proc.v3.ExternalProcessor, for REDACT: ext_authz cannot rewrite a body, so a
 * request gavel decided to redact goes through this filter (request_body_mode BUFFERED), which
 * replaces the body with the redacted one and fixes content-length. The body phase reuses the
 * ext_authz decision for the same request id and body (one decision, one ledger entry); without
 * one it decides itself. A decision that does not let the request on is Envoy's immediate
 * response (403/429, the same JSON as ext_authz's); a request that cannot be processed is 500.
 */
export function processorService(decide: DecideFace, o: ProcessorOptions): grpc.UntypedServiceImplementation {
  return {
    Process: (call: grpc.ServerDuplexStream<ProcessingRequestMessage, unknown>) => {
      let headers: Record<string, string> = {};
      let queue: Promise<unknown> = Promise.resolve();
      const gone = new AbortController();
      call.once('cancelled', () => gone.abort());
      call.on('data', (req: ProcessingRequestMessage) => {
        queue = queue
          .then(async () => {
            if (req.request_headers) {
              headers = headerMap(req.request_headers.headers?.headers ?? []);
              // A request without a body is decided here (or its ext_authz decision taken): nothing passes undecided.
              if (req.request_headers.end_of_stream)
                return await decidePhase('request_headers', decide, o, call, headers, Buffer.alloc(0), req.metadata_context, gone.signal);
              return { request_headers: { response: CONTINUE } };
            }
            if (req.request_body) {
              if (!req.request_body.end_of_stream) return immediate(500, 'gavel ext_proc needs processing_mode.request_body_mode: BUFFERED');
              return await decidePhase('request_body', decide, o, call, headers, Buffer.from(req.request_body.body ?? []), req.metadata_context, gone.signal);
            }
            // Any other phase (the filter was configured to send it): go on unchanged.
            return { [req.request ?? 'request_headers']: { response: CONTINUE } };
          })
          .then(
            (answer) => {
              if (call.destroyed || call.writableEnded) return;
              call.write(answer);
            },
            (err: unknown) => {
              o.log.warn({ err: errorMessage(err) }, 'ext_proc: a request could not be processed');
              if (!call.destroyed && !call.writableEnded) call.write(immediate(500, 'gavel could not process the request'));
            },
          );
      });
      // gavel ends the call when Envoy half-closes it (gRPC's order). Envoy does so, rather than reset the
      // stream, only with the runtime flag envoy.reloadable_features.ext_proc_graceful_grpc_close; without it
      // Envoy resets every finished stream, and Node's HTTP/2 (nghttp2's rapid-reset guard: 1000, then 33
      // a second) answers a connection resetting that fast with GOAWAY, refusing the streams in flight.
      call.on('end', () => void queue.then(() => call.end()));
    },
  };
}

async function decidePhase(
  phase: 'request_headers' | 'request_body',
  decide: DecideFace,
  o: ProcessorOptions,
  call: grpc.ServerDuplexStream<ProcessingRequestMessage, unknown>,
  headers: Record<string, string>,
  body: Buffer,
  metadata: ProcessingRequestMessage['metadata_context'],
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  const check: CheckRequestMessage = {
    attributes: {
      request: {
        http: { method: headers[':method'] ?? '', path: headers[':path'] ?? '', host: headers[':authority'] ?? '', headers, raw_body: body, size: body.length },
      },
      ...(metadata ? { metadata_context: metadata } : {}),
    },
  };
  const mapped = checkInput(check, o.config, o.limits);
  const trace = traceOf(call.metadata);
  const d: Decision =
    o.decided.take(mapped.requestId, body) ??
    (await decide({
      policy: o.config.policy,
      input: { value: mapped.input },
      requestId: mapped.requestId,
      caller: callerOf(call).id,
      signal,
      ...(trace ? { trace } : {}),
      ...(mapped.refusal ? { refusal: mapped.refusal } : {}),
    }));
  if (d.decision === 'allow') return { [phase]: { response: CONTINUE } };
  if (d.decision === 'redact' && body.length > 0) {
    const redacted = redactedBody(body, d.redactedInput, o.limits);
    if (redacted) {
      return {
        [phase]: {
          response: {
            status: 'CONTINUE',
            // ext_proc reads header values from raw_value; Envoy refuses a body whose content-length it was not told.
            header_mutation: { set_headers: [header('content-length', String(redacted.length)), ...decisionHeaders(d)].map(raw), remove_headers: [] },
            body_mutation: { body: redacted },
          },
        },
      };
    }
  }
  const denial = denialOf(d, o.config);
  return {
    immediate_response: {
      status: { code: denial.status },
      headers: { set_headers: denial.headers.map(raw), remove_headers: [] },
      body: Buffer.from(denial.body),
      details: `gavel_${d.decision}`,
    },
  };
}

/**
 * The body with the content gavel decided on replaced by its redacted form (the same keys:
 * messages, input, system, prompt); undefined when the body cannot carry it (then the request is
 * denied: a REDACT is never forwarded unredacted).
 */
export function redactedBody(body: Buffer, redactedInput: JsonObject | undefined, limits: DecideLimits): Buffer | undefined {
  const content = redactedInput?.content;
  if (!isJsonObject(content)) return undefined;
  let original: JsonObject;
  try {
    original = parseInputJson(body, limits);
  } catch {
    return undefined;
  }
  const out: JsonObject = { ...original };
  for (const key of CONTENT_KEYS) if (key in content) out[key] = content[key]!;
  return Buffer.from(JSON.stringify(out));
}

function immediate(status: number, details: string): Record<string, unknown> {
  return {
    immediate_response: {
      status: { code: status === 500 ? 'InternalServerError' : 'Forbidden' },
      headers: { set_headers: [header('content-type', 'application/json')].map(raw), remove_headers: [] },
      body: Buffer.from(JSON.stringify({ outcome: 'deny', code: 'gavel_ext_proc', message: details })),
      details,
    },
  };
}

/** A header for ext_proc: the value as raw_value bytes too (what Envoy's ext_proc reads). */
function raw(h: HeaderOption): HeaderOption & { header: { raw_value: Buffer } } {
  return { ...h, header: { ...h.header, raw_value: Buffer.from(h.header.value) } };
}

function headerMap(list: Array<{ key: string; value?: string; raw_value?: Uint8Array }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list) out[h.key.toLowerCase()] = h.raw_value && h.raw_value.length > 0 ? Buffer.from(h.raw_value).toString('utf8') : (h.value ?? '');
  return out;
}
