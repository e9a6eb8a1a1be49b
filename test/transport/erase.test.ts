import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, jsonInput, unary, unaryError, type Clients } from '../helpers/client.js';
import { tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { coreOptions, echoInput } from '../ledger/fixtures.js';

/** AuditService.Erase on a real server on 127.0.0.1: what it erases, what it records, what it refuses. */
let srv: InProcessServer;
let c: Clients;

beforeAll(async () => {
  srv = await startInProcess(coreOptions(join(tempDir(), 'ledger.db')));
  c = clients(srv.address);
});
afterAll(async () => {
  c?.close();
  await srv?.stop();
});

describe('AuditService.Erase', () => {
  it("erases one decision's payload with an erasure entry; GetDecision says so and names it; Verify holds", async () => {
    const kept = await unary(c.decision, 'Decide', jsonInput(echoInput({ subject: 'kim' })));
    const target = await unary(c.decision, 'Decide', jsonInput(echoInput({ subject: 'kim', extra: { secret: 'x' } })));
    const r = await unary(c.audit, 'Erase', { decision_id: target.decision_id, reason: 'ticket 9', basis: 'gdpr-art17' });
    expect({
      erased: String(r.erased),
      seqs: r.seqs.map((s: { from: string; to: string }) => [String(s.from), String(s.to)]),
      seq: String(r.receipt.seq),
    }).toEqual({
      erased: '1',
      seqs: [[String(target.receipt.seq), String(target.receipt.seq)]],
      seq: String(Number(target.receipt.seq) + 1),
    });
    const got = await unary(c.audit, 'GetDecision', { decision_id: target.decision_id });
    expect({ erased: got.payload_erased, by: String(got.erased_by_seq), payload: got.payload_json.length }).toEqual({
      erased: true,
      by: String(r.receipt.seq),
      payload: 0,
    });
    const other = await unary(c.audit, 'GetDecision', { decision_id: kept.decision_id });
    expect({ erased: other.payload_erased, by: String(other.erased_by_seq) }).toEqual({ erased: false, by: '0' });
    const erasure = await unary(c.audit, 'GetDecision', { decision_id: r.erasure_id });
    expect({ kind: erasure.entry.kind, caller: erasure.entry.caller }).toEqual({ kind: 'erasure', caller: 'unverified:anonymous' });
    const verified = await unary(c.audit, 'Verify', {});
    expect({ ok: verified.ok, erased: String(verified.payloads_erased), by: verified.erasure_seqs.map(String) }).toEqual({
      ok: true,
      erased: '1',
      by: [String(r.receipt.seq)],
    });
    // Again: nothing left, no entry.
    const again = await unary(c.audit, 'Erase', { decision_id: target.decision_id, reason: 'ticket 9', basis: 'gdpr-art17' });
    expect({ erased: String(again.erased), id: again.erasure_id, receipt: again.receipt }).toEqual({ erased: '0', id: '', receipt: null });
  });

  it('refuses, with a clear status: two criteria or none, no reason, an unknown basis or time, an unknown decision', async () => {
    const cases: Array<[Record<string, unknown>, grpc.status, RegExp]> = [
      [{ subject_id: 'a', decision_id: 'b', reason: 'r', basis: 'other' }, grpc.status.INVALID_ARGUMENT, /exactly one of subject_id, decision_id and before/],
      [{ reason: 'r', basis: 'other' }, grpc.status.INVALID_ARGUMENT, /exactly one/],
      [{ subject_id: 'a', basis: 'other' }, grpc.status.INVALID_ARGUMENT, /a reason is required/],
      [{ subject_id: 'a', reason: 'r', basis: 'because' }, grpc.status.INVALID_ARGUMENT, /basis must be one of/],
      [{ before: 'yesterday', reason: 'r', basis: 'retention' }, grpc.status.INVALID_ARGUMENT, /RFC 3339/],
      [{ subject_id: 'a', reason: 'x'.repeat(1025), basis: 'other' }, grpc.status.INVALID_ARGUMENT, /over 1024 bytes/],
      [{ decision_id: 'nope', reason: 'r', basis: 'other' }, grpc.status.NOT_FOUND, /no ledger entry has decision id nope/],
    ];
    for (const [request, code, message] of cases) {
      const err = await unaryError(c.audit, 'Erase', request);
      expect([err.code, err.details]).toEqual([code, expect.stringMatching(message)]);
    }
  });
});
