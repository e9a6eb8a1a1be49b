import { generateKeyPairSync, sign, verify } from 'node:crypto';
import type { Approval } from '../../src/engine/approvals/approval.js';
import type { RowSigner } from '../../src/usage/postgres/row-signer.js';

/** Approvals and replica signatures for the shared approval store's tests. */
export const T0 = Date.parse('2026-12-06T10:00:00Z');
export const HOUR = 3_600_000;

/** Ed25519 signatures per ledger, as the replicas' keys make them (runtime/replica-signer.ts). */
export function signers(): { of: (ledgerId: string) => RowSigner; forget: (ledgerId: string) => void } {
  const keys = new Map<string, ReturnType<typeof generateKeyPairSync>>();
  const keyOf = (id: string) => {
    const k = keys.get(id) ?? generateKeyPairSync('ed25519');
    keys.set(id, k);
    return k;
  };
  return {
    of: (own) => ({
      sign: (body) => sign(null, Buffer.from(body), keyOf(own).privateKey).toString('base64'),
      verify: (ledgerId, body, sig) => {
        const k = keys.get(ledgerId);
        return k !== undefined && verify(null, Buffer.from(body), k.publicKey, Buffer.from(sig, 'base64'));
      },
    }),
    forget: (id) => keys.delete(id),
  };
}

let n = 0;
export function approval(over: Partial<Approval> = {}): Approval {
  n++;
  return {
    id: `ap-${n}`,
    state: 'pending',
    fingerprint: `fp-${n}`,
    subjectId: 'alice',
    subjectType: 'user',
    onBehalfOf: '',
    team: 'platform',
    costCenter: 'cc-100',
    actionType: 'tool.call',
    resource: 'payments.transfer',
    params: { amount: 50_000 },
    approvers: ['role:team-lead'],
    minApprovals: 1,
    createdAtMs: T0 + n,
    expiresAtMs: T0 + 4 * HOUR,
    requestedBy: `dec-${n}`,
    caller: 'gateway-1',
    policy: { bundle: 'ai', revision: 'r1', digest: 'sha256:00' },
    votes: [],
    ...over,
  };
}
