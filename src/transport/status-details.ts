import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_ROOT } from './proto.js';

/** ErrorInfo's domain for every gavel error: the API's package. */
export const ERROR_DOMAIN = 'gavel.v1';
const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';

/** google.rpc's Status and ErrorInfo, from the vendored protos (proto/google/rpc, Apache-2.0). */
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith('google/rpc/') ? join(PROTO_ROOT, target) : target);
root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
const Status = root.lookupType('google.rpc.Status');
const ErrorInfo = root.lookupType('google.rpc.ErrorInfo');

export interface ErrorInfoFields {
  /** gavel's stable error code. */
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

/**
 * The `grpc-status-details-bin` trailer: a google.rpc.Status with the call's code and message
 * (gRPC's standard helpers check they match the status) and one ErrorInfo whose reason is the
 * stable code, so Go's `status.FromError(err).Details()` and Python's `rpc_status.from_call()`
 * read what the `gavel-error-code` trailer says.
 */
export function statusDetails(code: number, message: string, info: ErrorInfoFields): Buffer {
  const value = ErrorInfo.encode(ErrorInfo.fromObject(info)).finish();
  const status = Status.fromObject({ code, message, details: [{ type_url: ERROR_INFO_TYPE, value }] });
  return Buffer.from(Status.encode(status).finish());
}

/** The Status and ErrorInfo a `grpc-status-details-bin` value holds (for clients and tests); undefined when it holds no ErrorInfo. */
export function readStatusDetails(bytes: Uint8Array): { code: number; message: string; errorInfo?: ErrorInfoFields } {
  const status = Status.toObject(Status.decode(bytes), { defaults: true }) as {
    code: number;
    message: string;
    details: Array<{ type_url: string; value: Uint8Array }>;
  };
  const any = status.details.find((d) => d.type_url === ERROR_INFO_TYPE);
  const errorInfo = any ? (ErrorInfo.toObject(ErrorInfo.decode(any.value), { defaults: true }) as ErrorInfoFields) : undefined;
  return { code: status.code, message: status.message, ...(errorInfo ? { errorInfo } : {}) };
}
