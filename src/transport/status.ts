import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { isGavelError, type StatusName } from '../lib/errors.js';
import type { Logger } from '../log.js';

const GRPC_STATUS: Record<StatusName, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  UNAVAILABLE: status.UNAVAILABLE,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  INTERNAL: status.INTERNAL,
};

/**
 * The only place core errors become gRPC status. The stable error code travels
 * in the `gavel-error-code` trailer; causes stay in the log, never on the wire.
 */
export function toServiceError(err: unknown, log: Logger): Partial<ServiceError> {
  const metadata = new Metadata();
  if (isGavelError(err)) {
    metadata.set('gavel-error-code', err.code);
    if (err.status === 'INTERNAL' || err.status === 'UNAVAILABLE') log.error({ code: err.code, err: err.cause ?? err }, err.message);
    return { code: GRPC_STATUS[err.status], details: err.message, metadata };
  }
  log.error({ err }, 'unexpected error');
  metadata.set('gavel-error-code', 'internal');
  return { code: status.INTERNAL, details: 'internal error (see server log)', metadata };
}
