import type * as grpc from '@grpc/grpc-js';
import { type Approval, approvalOf, isSettled } from './approval.js';
import { fromServiceError, unavailable } from './errors.js';
import type { ApprovalServiceClient } from './gen/gavel/v1/ApprovalService.js';

/** Starts a unary call with these options, answering to this callback. */
type StartUnary<Res> = (options: grpc.CallOptions, callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

/** One unary attempt: the deadline goes to the server with the call; aborting cancels it (RST_STREAM), so the server gives it up. */
export function unaryCall<Res>(start: StartUnary<Res>, deadline: number, signal?: AbortSignal): Promise<Res> {
  return new Promise((resolve, reject) => {
    const onAbort = () => call.cancel();
    const call = start({ deadline }, (err, res) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(fromServiceError(err));
      else resolve(res as Res);
    });
    if (signal?.aborted) call.cancel();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One WatchApproval attempt: resolves with the first state that no longer waits on a person
 * (approved, rejected, expired, consumed), then cancels the watch. The server ends the stream itself
 * only at rejected, expired or consumed; an approved request stays open until used, which is what
 * the waiting agent is about to do. A stream that ends while still pending (the server shutting
 * down) is `unavailable`: the caller's runner watches again.
 */
export function watchUntilSettled(
  client: ApprovalServiceClient,
  id: string,
  metadata: grpc.Metadata,
  deadline: number,
  signal?: AbortSignal,
): Promise<Approval> {
  return new Promise((resolve, reject) => {
    const call = client.WatchApproval({ approval_id: id }, metadata, { deadline });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => call.cancel();
    call.on('data', (wire) => {
      const a = approvalOf(wire);
      if (!isSettled(a.state)) return;
      settle(() => resolve(a));
      call.cancel();
    });
    call.on('error', (err: grpc.ServiceError) => settle(() => reject(fromServiceError(err))));
    call.on('end', () => settle(() => reject(unavailable(`the watch of approval ${id} ended while it was still pending`))));
    if (signal?.aborted) call.cancel();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
