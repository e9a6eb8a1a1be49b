import { isGavelError, type StatusName } from '../../lib/errors.js';
import type { Logger } from '../../log.js';

const HTTP_STATUS: Record<StatusName, number> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  UNAVAILABLE: 503,
  FAILED_PRECONDITION: 409,
  DEADLINE_EXCEEDED: 504,
  ABORTED: 409,
  INTERNAL: 500,
};

/** The console's edge mapping, as status.ts is gRPC's: gavel's code to an HTTP status and a message that names the problem. */
export function httpError(err: unknown, log: Logger): { status: number; code: string; message: string } {
  if (isGavelError(err)) {
    if (err.status === 'INTERNAL' || err.status === 'UNAVAILABLE') log.error({ code: err.code, err: err.cause ?? err }, err.message);
    return { status: HTTP_STATUS[err.status], code: err.code, message: err.message };
  }
  log.error({ err }, 'console: unexpected error');
  return { status: 500, code: 'internal', message: 'internal error (see server log)' };
}
