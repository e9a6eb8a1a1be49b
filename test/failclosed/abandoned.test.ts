import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/runtime.js';
import { clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess } from '../helpers/server.js';
import { coreOptions } from '../ledger/fixtures.js';
import { modelCall } from '../usage/helpers.js';

/** A caller who gave up: nothing reserved if known before the reservation; released at once if known after the entry. */
const who = { subject: 'quitter', team: 'platform', costCenter: 'cc-100' };
const count = (db: { prepare(sql: string): { get(): unknown } }, table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('the caller who gave up', () => {
  it('cancelled before its reservation: no entry, no reservation, no request; the error is abandoned', async () => {
    const core = await startRuntime({ bundles: BUNDLES, ledger: ':memory:' });
    try {
      const gone = new AbortController();
      gone.abort();
      await expect(core.decide({ policy: '', input: { value: modelCall(who) }, requestId: '', caller: 't', signal: gone.signal })).rejects.toMatchObject({
        code: 'abandoned',
      });
      await expect(core.decide({ policy: '', input: { value: modelCall(who) }, requestId: '', caller: 't', deadlineMs: Date.now() - 1 })).rejects.toMatchObject(
        { code: 'abandoned' },
      );
      expect(core.parts.ledger.size).toBe(0);
      expect(count(core.parts.ledger.db, 'usage_charges')).toBe(0);
      expect(count(core.parts.ledger.db, 'usage_requests')).toBe(0);
    } finally {
      await core.stop();
    }
  });

  it('gone while its entry was being written: the entry stays, the reservation is released at once and counts for nothing', async () => {
    const gone = new AbortController();
    const core = await startRuntime({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db'), ledgerFaults: { beforeInsert: () => gone.abort() } });
    try {
      const d = await core.decide({ policy: '', input: { value: modelCall(who) }, requestId: '', caller: 't', signal: gone.signal });
      expect(d.decision).toBe('allow');
      expect(core.parts.ledger.db.prepare('SELECT COUNT(*) AS n FROM entries WHERE decision_id = ?').get(d.decisionId)).toEqual({ n: 1 });
      expect(await core.parts.usage!.charge(d.decisionId)).toBeUndefined();
      const usage = await core.parts.usage!.usage('team', 'platform', Date.now());
      expect(usage.day.reserved_tokens).toBe(0);
      expect((await core.parts.ledger.verify()).ok).toBe(true);
    } finally {
      await core.stop();
    }
  });

  it('over gRPC: a Decide whose deadline passes while it is evaluated records nothing', async () => {
    const srv = await startInProcess(coreOptions(join(tempDir(), 'l.db')));
    const c = clients(srv.address);
    try {
      const slow = Buffer.from(JSON.stringify({ n: 3_000_000 }));
      const started = Date.now();
      const err = await new Promise<grpc.ServiceError>((resolve) =>
        c.decision.makeUnaryRequest(
          '/gavel.v1.DecisionService/Decide',
          (x: Buffer) => x,
          (b: Buffer) => b,
          encodeDecide('fixtures/hungry', slow),
          new grpc.Metadata(),
          { deadline: Date.now() + 50 },
          (e) => resolve(e as grpc.ServiceError),
        ),
      );
      expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      // Give the server time to finish evaluating and reach its commit step.
      await new Promise((r) => setTimeout(r, Math.max(0, 1500 - (Date.now() - started))));
      expect(srv.core.parts.ledger.size).toBe(0);
    } finally {
      c.close();
      await srv.stop();
    }
  });

  it('over gRPC: a Decide its client cancels while it is evaluated records nothing, and the next one is recorded', async () => {
    // Evaluated on a worker: this thread, the client's too, is free to cancel while the policy runs.
    const srv = await startInProcess(coreOptions(join(tempDir(), 'l.db'), { engine: { defaultEntrypoint: 'fixtures/echo', workers: 1 } }));
    const c = clients(srv.address);
    try {
      const slow = Buffer.from(JSON.stringify({ n: 3_000_000 }));
      const started = Date.now();
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        const call = c.decision.makeUnaryRequest(
          '/gavel.v1.DecisionService/Decide',
          (x: Buffer) => x,
          (b: Buffer) => b,
          encodeDecide('fixtures/hungry', slow),
          new grpc.Metadata(),
          {},
          (e) => resolve(e as grpc.ServiceError),
        );
        setTimeout(() => call.cancel(), 50);
      });
      expect(err.code).toBe(grpc.status.CANCELLED);
      await new Promise((r) => setTimeout(r, Math.max(0, 1500 - (Date.now() - started))));
      expect(srv.core.parts.ledger.size).toBe(0);
      // Not cancelled: recorded.
      await new Promise<void>((resolve, reject) =>
        c.decision.makeUnaryRequest(
          '/gavel.v1.DecisionService/Decide',
          (x: Buffer) => x,
          (b: Buffer) => b,
          encodeDecide('fixtures/hungry', Buffer.from(JSON.stringify({ n: 10 }))),
          new grpc.Metadata(),
          {},
          (e) => (e ? reject(e) : resolve()),
        ),
      );
      expect(srv.core.parts.ledger.size).toBe(1);
    } finally {
      c.close();
      await srv.stop();
    }
  });
});

/** DecideRequest{policy=1, input_json=2} in protobuf wire form. */
function encodeDecide(policy: string, json: Buffer): Buffer {
  const field = (no: number, bytes: Buffer) => Buffer.concat([Buffer.from([(no << 3) | 2]), varint(bytes.length), bytes]);
  return Buffer.concat([field(1, Buffer.from(policy)), field(2, json)]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
