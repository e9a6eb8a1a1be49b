import type * as grpc from '@grpc/grpc-js';

/**
 * Who asked. Today: the `x-gavel-caller` metadata value when present, else the
 * peer address. With mTLS this becomes the certificate identity and its role.
 */
export function callerOf(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): string {
  const declared = call.metadata.get('x-gavel-caller')[0];
  // Not cut: an oversized name is refused by the engine's header bounds (INVALID_ARGUMENT), never silently shortened.
  if (typeof declared === 'string' && declared !== '') return declared;
  return call.getPeer();
}
