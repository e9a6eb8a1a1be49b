import { status, type ServiceError } from '@grpc/grpc-js';
import { readErrorInfo } from './status-details.js';

export interface GavelErrorOptions {
  grpcCode: number;
  retryable?: boolean;
  cause?: unknown;
}

/**
 * Every failure the client reports. `code` is gavel's stable error code (README "Error codes"), read
 * from the refusal's google.rpc.ErrorInfo, else its `gavel-error-code` trailer; a failure the server
 * never answered (no connection, the deadline, a cancel) gets the gRPC status name in lower case
 * (`unavailable`, `deadline_exceeded`, `cancelled`), and the client's own refusals have codes of
 * their own (`circuit_open`, `request_id_in_use`, `config_invalid`, `closed`: the package README).
 */
export class GavelError extends Error {
  override readonly name = 'GavelError';
  readonly code: string;
  /** The gRPC status number (3 = INVALID_ARGUMENT, 14 = UNAVAILABLE, …). */
  readonly grpcCode: number;
  /** The gRPC status name ('INVALID_ARGUMENT', …). */
  readonly grpcStatus: string;
  /** A transient fault: the same request may succeed later (ErrorInfo's metadata.retryable, else UNAVAILABLE). */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: GavelErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.grpcCode = options.grpcCode;
    this.grpcStatus = statusName(options.grpcCode);
    this.retryable = options.retryable ?? options.grpcCode === status.UNAVAILABLE;
  }
}

export function isGavelError(err: unknown): err is GavelError {
  return err instanceof GavelError;
}

export function statusName(code: number): string {
  return (status as unknown as Record<number, string | undefined>)[code] ?? 'UNKNOWN';
}

/** A failed call as a GavelError: the stable code and retryability from the status details when the server sent them. */
export function fromServiceError(err: ServiceError): GavelError {
  const [details] = err.metadata?.get('grpc-status-details-bin') ?? [];
  const info = Buffer.isBuffer(details) ? readErrorInfo(details) : undefined;
  const [trailer] = err.metadata?.get('gavel-error-code') ?? [];
  const code = info?.reason || (typeof trailer === 'string' && trailer) || statusName(err.code).toLowerCase();
  const retryable = info ? info.metadata.retryable === 'true' : err.code === status.UNAVAILABLE;
  const out = new GavelError(code, err.details || err.message, { grpcCode: err.code, retryable, cause: err });
  if (info || trailer !== undefined) refusals.add(out);
  return out;
}

/** Errors that carry a stable code from the server: it was reached and answered. */
const refusals = new WeakSet<GavelError>();

/** The server answered with a refusal of its own (a stable code), so the connection worked. */
export function isRefusal(err: GavelError): boolean {
  return refusals.has(err);
}

/** No connection to the server: it could not be reached, or the connection broke under the call. */
export function isConnectionFailure(err: GavelError): boolean {
  return err.code === 'unavailable';
}

/** Whatever a call threw, as a GavelError (a bug of the client's own becomes `internal`). */
export function toGavelError(err: unknown): GavelError {
  if (isGavelError(err)) return err;
  if (isServiceError(err)) return fromServiceError(err);
  return new GavelError('internal', err instanceof Error ? err.message : String(err), { grpcCode: status.INTERNAL, retryable: false, cause: err });
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err;
}

export const cancelled = (why = 'the call was cancelled'): GavelError => new GavelError('cancelled', why, { grpcCode: status.CANCELLED, retryable: false });

export const deadlineExceeded = (why = 'the deadline passed'): GavelError =>
  new GavelError('deadline_exceeded', why, { grpcCode: status.DEADLINE_EXCEEDED, retryable: false });

export const unavailable = (why: string): GavelError => new GavelError('unavailable', why, { grpcCode: status.UNAVAILABLE, retryable: true });

export const closed = (): GavelError => new GavelError('closed', 'the client was closed', { grpcCode: status.CANCELLED, retryable: false });
