import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COSIGNATURE_ALG, ephemeralKey, formatVerifierKey, parseVerifierKey } from '../../src/ledger/keys.js';
import { INCLUSION_PROOF_FORMAT, verifyConsistencyBundle, verifyInclusionBundle } from '../../src/ledger/proofs.js';
import { clients, jsonInput, unary, unaryError, type Clients } from '../helpers/client.js';
import { tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { coreOptions, echoInput } from '../ledger/fixtures.js';

/**
 * AuditService.GetInclusionProof and GetConsistencyProof on a real server on 127.0.0.1: every
 * Decide receipt names its leaf; a proof of a decision newer than the latest checkpoint gets a
 * checkpoint signed for it; the proof checks with the verifier key LatestCheckpoint gives.
 */
let srv: InProcessServer;
let c: Clients;
const hex = (b: Buffer) => b.toString('hex');

beforeAll(async () => {
  // Checkpoints only on request or at shutdown: every proof below must bring its own.
  srv = await startInProcess(coreOptions(join(tempDir(), 'ledger.db'), { ledgerOptions: { checkpointEvery: 1_000_000, checkpointSeconds: 3600 } }));
  c = clients(srv.address);
});
afterAll(async () => {
  c?.close();
  await srv?.stop();
});

describe('proofs over gRPC', () => {
  it("a decision's receipt names its leaf, and its inclusion proof verifies with the ledger's verifier key", async () => {
    const decided = [];
    for (let i = 0; i < 11; i++) decided.push(await unary(c.decision, 'Decide', jsonInput(echoInput({ subject: `p-${i}` }))));
    for (const d of decided) expect(Number(d.receipt.leaf_index)).toBe(Number(d.receipt.seq) - 1);
    expect(Number((await unary(c.audit, 'LatestCheckpoint', {})).size)).toBe(0);

    const target = decided[6]!;
    const p = await unary(c.audit, 'GetInclusionProof', { decision_id: target.decision_id });
    expect([p.seq, p.leaf_index, p.tree_size, p.decision_id].map(String)).toEqual(['7', '6', '11', target.decision_id]);
    const latest = await unary(c.audit, 'LatestCheckpoint', {});
    // Signed for the proof: the latest checkpoint now covers all 11.
    expect([String(latest.size), latest.note]).toEqual(['11', p.checkpoint]);
    const key = parseVerifierKey(latest.verifier_key);
    const bundle = {
      format: INCLUSION_PROOF_FORMAT,
      seq: Number(p.seq),
      decision_id: p.decision_id,
      leaf_index: Number(p.leaf_index),
      tree_size: Number(p.tree_size),
      header: p.header,
      hashes: (p.hashes as Buffer[]).map(hex),
      root_hash: hex(p.root_hash),
      checkpoint: p.checkpoint,
    };
    expect(verifyInclusionBundle(bundle, key).header).toMatchObject({ seq: 7, decision_id: target.decision_id, subject_id: 'p-6' });

    // By seq, and against the checkpoint stored at a size.
    const bySeq = await unary(c.audit, 'GetInclusionProof', { seq: 3, tree_size: 11 });
    expect(
      verifyInclusionBundle({ ...bundle, ...{ seq: 3, leaf_index: 2, header: bySeq.header, hashes: (bySeq.hashes as Buffer[]).map(hex) } }, key).header.seq,
    ).toBe(3);
  });

  it('a consistency proof from an earlier size to now verifies; sizes outside the ledger are INVALID_ARGUMENT', async () => {
    const before = await unary(c.audit, 'GetConsistencyProof', { from_size: 4, to_size: 11 });
    await unary(c.decision, 'Decide', jsonInput(echoInput({ subject: 'later' })));
    const now = await unary(c.audit, 'GetConsistencyProof', { from_size: 11 });
    expect([now.from_size, now.to_size].map(Number)).toEqual([11, 12]);
    expect(hex(now.from_root)).toBe(hex(before.to_root));
    for (const p of [before, now]) {
      expect(
        verifyConsistencyBundle({
          from_size: Number(p.from_size),
          to_size: Number(p.to_size),
          from_root: hex(p.from_root),
          to_root: hex(p.to_root),
          hashes: (p.hashes as Buffer[]).map(hex),
        }),
      ).toBe(true);
    }
    const err = await unaryError(c.audit, 'GetConsistencyProof', { from_size: 5, to_size: 99 });
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain('0 <= from <= to <= 12');
  });

  it('signs a checkpoint for a proof at most once a second: a second new entry proved at once waits (FAILED_PRECONDITION)', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const a = await unary(c.decision, 'Decide', jsonInput(echoInput({ subject: 'rate-a' })));
    expect((await unary(c.audit, 'GetInclusionProof', { decision_id: a.decision_id })).seq).toEqual(a.receipt.seq);
    const b = await unary(c.decision, 'Decide', jsonInput(echoInput({ subject: 'rate-b' })));
    const err = await unaryError(c.audit, 'GetInclusionProof', { decision_id: b.decision_id });
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toContain('at most once a second');
    await new Promise((r) => setTimeout(r, 1100));
    expect((await unary(c.audit, 'GetInclusionProof', { decision_id: b.decision_id })).seq).toEqual(b.receipt.seq);
  });

  it('refuses, with a clear status: no entry named, both named, an unknown one, a size with no checkpoint', async () => {
    const cases: Array<[Record<string, unknown>, grpc.status, RegExp]> = [
      [{}, grpc.status.INVALID_ARGUMENT, /exactly one of decision_id and seq/],
      [{ decision_id: 'x', seq: 1 }, grpc.status.INVALID_ARGUMENT, /exactly one of decision_id and seq/],
      [{ decision_id: 'no-such' }, grpc.status.NOT_FOUND, /no entry has decision id no-such/],
      [{ seq: 5, tree_size: 6 }, grpc.status.INVALID_ARGUMENT, /no checkpoint at size 6/],
    ];
    for (const [request, status, message] of cases) {
      const err = await unaryError(c.audit, 'GetInclusionProof', request);
      expect([err.code, err.details]).toEqual([status, expect.stringMatching(message)]);
    }
  });

  it('Verify with witness keys: none cosigned here is witnesses_missing; an unreadable key or too high a minimum is INVALID_ARGUMENT', async () => {
    const vkey = formatVerifierKey(ephemeralKey('proofs-grpc/witness'), COSIGNATURE_ALG);
    const report = await unary(c.audit, 'Verify', { witness_keys: [vkey], min_witnesses: 1 });
    expect({ ok: report.ok, failure_kind: report.failure_kind, witnessed_size: String(report.witnessed_size) }).toEqual({
      ok: false,
      failure_kind: 'witnesses_missing',
      witnessed_size: '0',
    });
    for (const bad of [{ witness_keys: ['not a key'], min_witnesses: 1 }, { witness_keys: [vkey], min_witnesses: 2 }, { min_witnesses: 1 }]) {
      const err = await unaryError(c.audit, 'Verify', bad);
      expect([err.code, err.details]).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/witness/)]);
    }
    expect((await unary(c.audit, 'Verify', {})).ok).toBe(true);
  });
});
