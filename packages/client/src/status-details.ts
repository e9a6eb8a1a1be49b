import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_ROOT, STATUS_PROTOS } from './proto-root.js';

/** The domain of every gavel ErrorInfo: the API's package. */
export const ERROR_DOMAIN = 'gavel.v1';
const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';

/** What a refusal's google.rpc.ErrorInfo says. */
export interface ErrorInfo {
  /** gavel's stable error code (README "Error codes"). */
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

// google.rpc's Status and ErrorInfo from the vendored protos (proto/google/rpc, Apache-2.0). The
// well-known google/protobuf imports resolve to protobufjs's built-in copies.
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith('google/rpc/') ? join(PROTO_ROOT, target) : target);
root.loadSync(STATUS_PROTOS, { keepCase: true });
const Status = root.lookupType('google.rpc.Status');
const ErrorInfoType = root.lookupType('google.rpc.ErrorInfo');

/**
 * The gavel ErrorInfo in a `grpc-status-details-bin` value, or undefined when it holds none (or
 * cannot be read: a proxy's own details, a truncated trailer). Never throws: a client reading an
 * error must not fail on the error's details.
 */
export function readErrorInfo(bytes: Uint8Array): ErrorInfo | undefined {
  try {
    const status = Status.toObject(Status.decode(bytes), { defaults: true }) as { details: Array<{ type_url: string; value: Uint8Array }> };
    for (const any of status.details) {
      if (any.type_url !== ERROR_INFO_TYPE) continue;
      const info = ErrorInfoType.toObject(ErrorInfoType.decode(any.value), { defaults: true }) as ErrorInfo;
      if (info.domain === ERROR_DOMAIN) return info;
    }
  } catch {
    // Unreadable details: the caller falls back to the gavel-error-code trailer.
  }
  return undefined;
}
