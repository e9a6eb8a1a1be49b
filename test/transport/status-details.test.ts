import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatusDetails } from '../../src/transport/status-details.js';
import { clients, jsonInput, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';

/**
 * gRPC's standard error model over a real server: every refusal carries a google.rpc.Status in
 * `grpc-status-details-bin` whose code and message are the call's (as gRPC's Go and Python helpers
 * require) and whose ErrorInfo names the stable code, beside the `gavel-error-code` trailer.
 */
let srv: InProcessServer;
let c: Clients;
let failAppends = false;

beforeAll(async () => {
  srv = await startInProcess({
    bundles: BUNDLES,
    ledger: join(tempDir(), 'ledger.db'),
    ledgerFaults: {
      beforeInsert: () => {
        if (failAppends) throw new Error('disk gone');
      },
    },
  });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

/** The details trailer of a refused call, read back; checked against the call's status. */
function details(err: grpc.ServiceError) {
  const [bin] = err.metadata.get('grpc-status-details-bin');
  expect(Buffer.isBuffer(bin)).toBe(true);
  const read = readStatusDetails(bin as Buffer);
  expect({ code: read.code, message: read.message }).toEqual({ code: err.code, message: err.details });
  expect(read.errorInfo?.reason).toBe(err.metadata.get('gavel-error-code')[0]);
  return read.errorInfo!;
}

describe('google.rpc.Status details', () => {
  it('a unary refusal: the reason is the stable code, in the gavel.v1 domain, not retryable', async () => {
    const err = await unaryError(c.decision, 'Decide', { input_json: Buffer.from('[1, 2]') });
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(details(err)).toEqual({ reason: 'invalid_input', domain: 'gavel.v1', metadata: { retryable: 'false' } });

    const missing = await unaryError(c.audit, 'GetDecision', { decision_id: 'no-such-decision' });
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    expect(details(missing)).toEqual({ reason: 'decision_not_found', domain: 'gavel.v1', metadata: { retryable: 'false' } });
  });

  it('a transient fault is marked retryable: the ledger refusing the entry (UNAVAILABLE)', async () => {
    failAppends = true;
    try {
      const err = await unaryError(c.decision, 'Decide', jsonInput({ action: { type: 'model.invoke' } }));
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(details(err)).toEqual({ reason: 'ledger_unavailable', domain: 'gavel.v1', metadata: { retryable: 'true' } });
    } finally {
      failAppends = false;
    }
  });

  it('a server-streaming call that ends refused carries them too', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
      const call = (c.audit as unknown as Record<string, Function>).QueryDecisions!.call(
        c.audit,
        { since: 'yesterday' },
        {
          deadline: Date.now() + 5000,
        },
      ) as grpc.ClientReadableStream<unknown>;
      call.on('data', () => undefined);
      call.on('error', resolve);
      call.on('end', () => reject(new Error('the query was answered')));
    });
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(details(err)).toMatchObject({ reason: 'invalid_query', domain: 'gavel.v1' });
  });
});
