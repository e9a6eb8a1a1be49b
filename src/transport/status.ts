import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { isGavelError, type ErrorCode, type StatusName } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { ERROR_DOMAIN, statusDetails } from './status-details.js';

const GRPC_STATUS: Record<StatusName, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  UNAVAILABLE: status.UNAVAILABLE,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  ABORTED: status.ABORTED,
  INTERNAL: status.INTERNAL,
};

/** What a refused call (or a refused request on a stream) tells the caller. */
export interface WireError {
  /** The gRPC status code. */
  code: status;
  /** gavel's stable code (README "Error codes"). */
  errorCode: ErrorCode;
  /** Names the problem; never a cause or a stack. */
  message: string;
}

/**
 * The only place core errors become gRPC status: unary calls send it as their
 * status (`toServiceError`), DecideStream as a per-request StreamError. Causes
 * stay in the log, never on the wire.
 */
export function toWireError(err: unknown, log: Logger): WireError {
  if (isGavelError(err)) {
    if (err.status === 'INTERNAL' || err.status === 'UNAVAILABLE') log.error({ code: err.code, err: err.cause ?? err }, err.message);
    return { code: GRPC_STATUS[err.status], errorCode: err.code, message: err.message };
  }
  log.error({ err }, 'unexpected error');
  return { code: status.INTERNAL, errorCode: 'internal', message: 'internal error (see server log)' };
}

/**
 * A call's status. The stable error code travels twice: in the `gavel-error-code` trailer, and as
 * the reason of a google.rpc.ErrorInfo in `grpc-status-details-bin` (gRPC's standard error model),
 * with `retryable` in its metadata: "true" for a transient fault (UNAVAILABLE, or ABORTED: the request id is being decided elsewhere), which a client may
 * try again with the same request id.
 */
export function toServiceError(err: unknown, log: Logger): Partial<ServiceError> {
  const e = toWireError(err, log);
  const metadata = new Metadata();
  metadata.set('gavel-error-code', e.errorCode);
  const retryable = e.code === status.UNAVAILABLE || e.code === status.ABORTED ? 'true' : 'false';
  metadata.set('grpc-status-details-bin', statusDetails(e.code, e.message, { reason: e.errorCode, domain: ERROR_DOMAIN, metadata: { retryable } }));
  return { code: e.code, details: e.message, metadata };
}
