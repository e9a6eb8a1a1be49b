import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessPolicy } from '../../src/transport/security/access-policy.js';
import { TlsFiles } from '../../src/transport/security/tls-files.js';
import { jsonInput, unary, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { buildPki, tlsClients, type Pki } from '../helpers/pki.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { errorCode, transfer } from './helpers.js';

/**
 * Approvers authenticate (README "Approvers authenticate"), over real mutual TLS with an access
 * file: an approver resolves with their own certificate and gets the approver roles of the file's
 * `people:`; a front end may name a person only with `approve-on-behalf`, and the person's roles
 * still come from the file; a role the request asserts that the file does not grant approves
 * nothing. Each vote's entry records the person, the front end and where the roles came from.
 */

let pki: Pki;
let srv: InProcessServer;
const open: Clients[] = [];
const as = (name: string) => {
  const c = tlsClients(srv.address, pki.caPem, pki.clients[name]);
  open.push(c);
  return c;
};
const FRONT_END = 'spiffe://corp.example/approvals-ui/1';

beforeAll(async () => {
  pki = await buildPki({
    gateway: { cn: 'gw', uris: ['spiffe://corp.example/gateway/eu-1'] },
    ui: { cn: 'ui', uris: [FRONT_END] },
    mia: { cn: 'mia' },
    eve: { cn: 'eve' },
  });
  const tls = new TlsFiles({ certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caFile });
  const policy = AccessPolicy.of(
    [
      { match: 'spiffe://corp.example/gateway/*', roles: ['decide'] },
      { match: 'spiffe://corp.example/approvals-ui/*', roles: ['approve-on-behalf'] },
      { match: 'mia', roles: ['approve'] },
      { match: 'eve', roles: ['approve'] },
    ],
    [
      { match: 'mia', roles: ['finance-manager'] },
      { match: 'noah', roles: ['finance-manager'] },
    ],
  );
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') }, { security: { tls, policy } });
});
afterAll(async () => {
  for (const c of open) c.close();
  await srv.stop();
});

let asked = 0;
/** A new transfer of 25,000 (each to another account: a new request) waiting for one finance-manager. */
async function ask(): Promise<string> {
  const d = await unary(as('gateway').decision, 'Decide', jsonInput(transfer(25_000, { to: `ACME-${++asked}` })));
  expect(d.decision).toBe('DECISION_REQUIRE_APPROVAL');
  expect(d.approval.approvers).toEqual(['role:finance-manager']);
  return d.approval.approval_id as string;
}

const approve = (approvalId: string, approver: { id: string; roles: string[] }) => ({
  approval_id: approvalId,
  verdict: 'VERDICT_APPROVE',
  approver,
  comment: 'ok',
});

/** The approver as the vote's ledger entry records it. */
function recordedApprover(approvalId: string): Record<string, unknown> {
  const [vote] = [...srv.core.audit.query({ kind: 'approval', requestId: approvalId, limit: 10 })].filter((e) => e.decision === 'approved');
  const payload = srv.core.audit.get(vote!.decisionId)!.payload as { approval: { approver: Record<string, unknown> } };
  return payload.approval.approver;
}

describe('Resolve under an access file', () => {
  it('an approver resolving with their own certificate is the approver, with the roles people: grants them', async () => {
    const id = await ask();
    const a = await unary(as('mia').approval, 'Resolve', approve(id, { id: '', roles: [] }));
    expect(a.state).toBe('approved');
    expect(a.votes[0]).toMatchObject({ approver: { id: 'mia', roles: ['finance-manager'] }, caller: 'mia' });
    expect(recordedApprover(id)).toEqual({ id: 'mia', roles: ['finance-manager'], roles_from: 'access-file' });
  });

  it('a front end with approve-on-behalf names the person; their roles come from people:, and the entry names the front end', async () => {
    const id = await ask();
    const a = await unary(as('ui').approval, 'Resolve', approve(id, { id: 'noah', roles: [] }));
    expect(a.state).toBe('approved');
    expect(a.votes[0]).toMatchObject({ approver: { id: 'noah', roles: ['finance-manager'] }, caller: FRONT_END });
    expect(recordedApprover(id)).toEqual({ id: 'noah', roles: ['finance-manager'], roles_from: 'access-file', named_by: FRONT_END });
  });

  it('an identity with approve but not approve-on-behalf cannot name someone else', async () => {
    const id = await ask();
    const err = await unaryError(as('eve').approval, 'Resolve', approve(id, { id: 'mia', roles: ['finance-manager'] }));
    expect([err.code, errorCode(err)]).toEqual([grpc.status.PERMISSION_DENIED, 'permission_denied']);
    expect(err.details).toContain('approve-on-behalf');
    // A front end cannot resolve as itself either: it holds no approve.
    const self = await unaryError(as('ui').approval, 'Resolve', approve(id, { id: '', roles: [] }));
    expect([self.code, errorCode(self)]).toEqual([grpc.status.PERMISSION_DENIED, 'permission_denied']);
    expect((await unary(as('mia').approval, 'GetApproval', { approval_id: id })).state).toBe('pending');
  });

  it('a role the access file does not grant approves nothing, asserted by the person or by a front end', async () => {
    const id = await ask();
    for (const [who, approver] of [
      ['eve', { id: '', roles: ['finance-manager'] }],
      ['ui', { id: 'eve', roles: ['finance-manager'] }],
    ] as const) {
      const err = await unaryError(as(who).approval, 'Resolve', approve(id, { ...approver, roles: [...approver.roles] }));
      expect([err.code, errorCode(err)], who).toEqual([grpc.status.PERMISSION_DENIED, 'approver_not_allowed']);
      expect(err.details).toContain('not granted by the access file');
    }
    // Without asserting it, eve holds no role the policy names.
    const plain = await unaryError(as('eve').approval, 'Resolve', approve(id, { id: '', roles: [] }));
    expect([plain.code, errorCode(plain)]).toEqual([grpc.status.PERMISSION_DENIED, 'approver_not_allowed']);
    expect((await unary(as('mia').approval, 'GetApproval', { approval_id: id })).state).toBe('pending');
    // A role the file does grant may be repeated: mia naming herself with finance-manager approves.
    const ok = await unary(as('mia').approval, 'Resolve', approve(id, { id: 'mia', roles: ['finance-manager'] }));
    expect(ok.state).toBe('approved');
  });
});
