import type * as grpc from '@grpc/grpc-js';
import type { TraceContext } from '../runtime/faces.js';

/** W3C Trace Context `traceparent`, version 00: version-traceid-parentid-flags, lower-case hex. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const ZEROS = /^0+$/;

/**
 * The trace a call belongs to, from its `traceparent` metadata (as the gavel client and any
 * OpenTelemetry gRPC instrumentation send it). A missing or malformed one, or one with an all-zero
 * id, is no trace (the W3C rule: ignore it), never a refusal.
 */
export function traceOf(metadata: grpc.Metadata): TraceContext | undefined {
  const [value] = metadata.get('traceparent');
  return parseTraceparent(value);
}

/** A `traceparent` value read by the same rule (DecideStream's per-request field). */
export function parseTraceparent(value: unknown): TraceContext | undefined {
  const match = typeof value === 'string' ? TRACEPARENT.exec(value.trim()) : null;
  if (!match || ZEROS.test(match[1]!) || ZEROS.test(match[2]!)) return undefined;
  return { traceId: match[1]!, parentSpanId: match[2]! };
}
