import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { statusDetails } from '../../../src/transport/status-details.js';
import { fromServiceError } from '../src/errors.js';
import { GavelError } from '../src/index.js';

/** A ServiceError as grpc-js hands it to a callback, with these trailers. */
function serviceError(code: grpc.status, details: string, trailers: Record<string, string | Buffer>): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata });
}

const info = (reason: string, retryable: string, domain = 'gavel.v1') => ({ reason, domain, metadata: { retryable } });

describe('GavelError from a failed call', () => {
  it('reads the code and retryability from the ErrorInfo in grpc-status-details-bin, before the trailer', () => {
    const bin = statusDetails(grpc.status.UNAVAILABLE, 'disk gone', info('ledger_unavailable', 'true'));
    const e = fromServiceError(serviceError(grpc.status.UNAVAILABLE, 'disk gone', { 'grpc-status-details-bin': bin, 'gavel-error-code': 'something_else' }));
    expect(e).toBeInstanceOf(GavelError);
    expect({ code: e.code, grpcCode: e.grpcCode, grpcStatus: e.grpcStatus, retryable: e.retryable, message: e.message }).toEqual({
      code: 'ledger_unavailable',
      grpcCode: 14,
      grpcStatus: 'UNAVAILABLE',
      retryable: true,
      message: 'disk gone',
    });
  });

  it("ErrorInfo's retryable wins over the status: an UNAVAILABLE it calls not retryable is not", () => {
    const bin = statusDetails(grpc.status.UNAVAILABLE, 'x', info('not_ready', 'false'));
    expect(fromServiceError(serviceError(grpc.status.UNAVAILABLE, 'x', { 'grpc-status-details-bin': bin })).retryable).toBe(false);
    const yes = statusDetails(grpc.status.RESOURCE_EXHAUSTED, 'x', info('replay_busy', 'true'));
    expect(fromServiceError(serviceError(grpc.status.RESOURCE_EXHAUSTED, 'x', { 'grpc-status-details-bin': yes })).retryable).toBe(true);
  });

  it('falls back to the gavel-error-code trailer; retryable then means UNAVAILABLE', () => {
    const e = fromServiceError(serviceError(grpc.status.UNAVAILABLE, 'no bundle', { 'gavel-error-code': 'not_ready' }));
    expect([e.code, e.retryable]).toEqual(['not_ready', true]);
    const f = fromServiceError(serviceError(grpc.status.NOT_FOUND, 'no such', { 'gavel-error-code': 'decision_not_found' }));
    expect([f.code, f.grpcStatus, f.retryable]).toEqual(['decision_not_found', 'NOT_FOUND', false]);
  });

  it('ignores details it cannot read, or of another domain', () => {
    const other = statusDetails(grpc.status.INVALID_ARGUMENT, 'x', info('BAD_THING', 'true', 'proxy.example'));
    const e = fromServiceError(serviceError(grpc.status.INVALID_ARGUMENT, 'x', { 'grpc-status-details-bin': other, 'gavel-error-code': 'invalid_input' }));
    expect([e.code, e.retryable]).toEqual(['invalid_input', false]);
    const junk = fromServiceError(serviceError(grpc.status.INVALID_ARGUMENT, 'x', { 'grpc-status-details-bin': Buffer.from([0xff, 0xff, 0xff]) }));
    expect(junk.code).toBe('invalid_argument');
  });

  it('a transport failure gets the status name: unavailable (retryable), deadline_exceeded, cancelled', () => {
    const down = fromServiceError(serviceError(grpc.status.UNAVAILABLE, 'No connection established', {}));
    expect([down.code, down.retryable]).toEqual(['unavailable', true]);
    expect(fromServiceError(serviceError(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded', {})).code).toBe('deadline_exceeded');
    expect(fromServiceError(serviceError(grpc.status.CANCELLED, 'Cancelled on client', {})).code).toBe('cancelled');
  });
});
