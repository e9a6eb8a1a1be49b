import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundles } from '../../src/bundles/loader.js';
import { clients, jsonInput, unary, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { modelCall, usageOf } from '../usage/helpers.js';

/**
 * Idempotent Decide over the real gRPC server on loopback (README "Retries and idempotency"):
 * `replayed` on the wire, the conflict's status and code, a client that gave up after the server
 * committed, and DecideStream under the same rule.
 */

const sam = { subject: 'sam', team: 'platform', costCenter: 'cc-100' };
let srv: InProcessServer;
let c: Clients;
/** Called inside the ledger's commit (after the entry's rows are written), when set. */
let onCommit: (() => void) | undefined;

beforeAll(async () => {
  srv = await startInProcess({
    bundles: loadBundles(BUNDLES),
    ledger: join(tempDir(), 'l.db'),
    ledgerFaults: { beforeCommit: () => onCommit?.() },
  });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const reserved = async () => (await usageOf(c, 'subject', 'sam')).week.reserved_tokens as number;

describe('Decide over gRPC with a request_id', () => {
  it('answers a retry with the recorded decision, replayed: true; another input under the id is FAILED_PRECONDITION idempotency_conflict', async () => {
    const first = await unary(c.decision, 'Decide', { ...jsonInput(modelCall(sam, 'standard-m', 100)), request_id: 'g-1' });
    expect(first.replayed).toBe(false);
    const size = srv.core.audit.size;
    const again = await unary(c.decision, 'Decide', { ...jsonInput(modelCall(sam, 'standard-m', 100)), request_id: 'g-1' });
    expect(again.replayed).toBe(true);
    expect({ ...again, replayed: false }).toEqual(first);
    expect(srv.core.audit.size).toBe(size);

    const err = await unaryError(c.decision, 'Decide', { ...jsonInput(modelCall(sam, 'standard-m', 200)), request_id: 'g-1' });
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.metadata.get('gavel-error-code')[0]).toBe('idempotency_conflict');
    expect(err.details).toContain(first.decision_id);
  });

  it('a client that gave up after the server committed gets the first answer when it retries: one entry, one reservation', async () => {
    const before = await reserved();
    const size = srv.core.audit.size;
    const request = { ...jsonInput(modelCall(sam, 'standard-m', 300)), request_id: 'g-2' };
    let call: grpc.ClientUnaryCall | undefined;
    // The client cancels while the server commits the entry: the server's answer has nowhere to go.
    onCommit = () => {
      onCommit = undefined;
      call?.cancel();
    };
    const gone = await new Promise<grpc.ServiceError>((resolve) => {
      call = (c.decision as unknown as Record<string, Function>).Decide!.call(c.decision, request, (err: grpc.ServiceError | null) => resolve(err!));
    });
    expect(gone.code).toBe(grpc.status.CANCELLED);
    await waitFor(() => srv.core.audit.size === size + 1);
    const retry = await unary(c.decision, 'Decide', request);
    expect(retry.replayed).toBe(true);
    expect(srv.core.audit.size).toBe(size + 1);
    expect(srv.core.audit.get(retry.decision_id)?.requestId).toBe('g-2');
    // The reservation stayed with the recorded decision, once.
    const usage = srv.core.audit.get(retry.decision_id)!.payload!.usage as { reserved: { tokens: number } };
    expect(await reserved()).toBe(before + usage.reserved.tokens);
  });

  it('DecideStream: the same request_id twice on a stream is one decision, answered twice', async () => {
    const size = srv.core.audit.size;
    const call = (c.decision as unknown as { DecideStream: (o: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, any> }).DecideStream({
      deadline: Date.now() + 15_000,
    });
    const answers: any[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on('data', (a: any) => answers.push(a));
      call.on('error', reject);
      call.on('end', () => resolve());
    });
    for (let i = 0; i < 3; i++) call.write({ ...jsonInput(modelCall(sam, 'standard-m', 400)), request_id: 's-1' });
    call.write({ ...jsonInput(modelCall(sam, 'standard-m', 401)), request_id: 's-1' });
    call.end();
    await ended;
    const decided = answers.filter((a) => a.result === 'decision');
    expect(decided).toHaveLength(3);
    expect(new Set(decided.map((a) => a.decision.decision_id)).size).toBe(1);
    expect(decided.filter((a) => a.decision.replayed)).toHaveLength(2);
    const refused = answers.filter((a) => a.result === 'error');
    expect(refused.map((a) => a.error.error_code)).toEqual(['idempotency_conflict']);
    expect(refused[0].error.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(srv.core.audit.size).toBe(size + 1);
  });

  it('replays are counted by method in gavel_decisions_replayed_total (the two unary retries and the two stream repeats above)', async () => {
    const counted = await srv.server.metrics.replayed.get();
    const by = (method: string) => counted.values.find((v) => v.labels.method === method)?.value;
    expect([by('Decide'), by('DecideStream')]).toEqual([2, 2]);
  });
});

async function waitFor(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ok()).toBe(true);
}
