import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER, resolve, transfer } from '../../../test/approvals/helpers.js';
import { clients, type Clients } from '../../../test/helpers/client.js';
import { BUNDLES, tempDir } from '../../../test/helpers/paths.js';
import { startInProcess, type InProcessServer } from '../../../test/helpers/server.js';
import { type Approval, createClient, type GavelClient } from '../src/index.js';
import { freePort, refusal, serveOn, sleep } from './helpers.js';

/** waitForApproval over WatchApproval, with a person resolving the request through ApprovalService (without mTLS every caller holds every role). */
let srv: InProcessServer;
let client: GavelClient;
let approver: Clients;

beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') });
  client = createClient({ target: srv.address, tls: 'insecure', caller: 'sdk-agent' });
  approver = clients(srv.address);
});
afterAll(async () => {
  approver.close();
  await client.close();
  await srv.stop();
});

/** A REQUIRE_APPROVAL decision of a transfer to `to`, and its approval id. */
async function requested(to: string): Promise<string> {
  const d = await client.decide(transfer(25_000, { to }));
  expect(d.outcome).toBe('require_approval');
  expect(d.approval).toMatchObject({ state: 'pending', approvers: ['role:finance-manager'], minApprovals: 1 });
  expect(Date.parse(d.approval!.expiresAt)).toBeGreaterThan(Date.now());
  return d.approval!.id;
}

/** Resolves with the approval, or 'waiting' if it has not settled within `ms`. */
const within = (p: Promise<Approval>, ms: number) => Promise.race([p, sleep(ms).then(() => 'waiting' as const)]);

describe('waitForApproval', () => {
  it('waits while pending, resolves once an approver approves; the retried Decide is then allowed', async () => {
    const id = await requested('ACME-001');
    const waiting = client.waitForApproval(id, { deadlineMs: 15_000 });
    expect(await within(waiting, 300)).toBe('waiting');
    await resolve(approver, id, 'VERDICT_APPROVE', MANAGER, 'invoice checked');
    const a = await waiting;
    expect(a).toMatchObject({ id, state: 'approved', subjectId: 'fiona', actionType: 'tool.call', resource: 'payments.transfer', minApprovals: 1 });
    expect(a.params).toEqual({ amount: 25_000, currency: 'USD', to_account: 'ACME-001' });
    expect(a.votes).toEqual([expect.objectContaining({ approver: MANAGER, verdict: 'approve', comment: 'invoice checked' })]);
    const allowed = await client.decide(transfer(25_000, { approvalId: id }));
    expect(allowed.outcome).toBe('allow');
    expect(allowed.approval).toMatchObject({ id, state: 'consumed' });
    // Already settled: answered at once.
    expect((await client.waitForApproval(id, { deadlineMs: 5_000 })).state).toBe('consumed');
  });

  it('resolves with a rejection too', async () => {
    const id = await requested('ACME-002');
    const waiting = client.waitForApproval(id, { deadlineMs: 15_000 });
    await sleep(100);
    await resolve(approver, id, 'VERDICT_REJECT', MANAGER, 'no invoice');
    expect(await waiting).toMatchObject({ id, state: 'rejected' });
  });

  it('rejects at its deadline (deadline_exceeded) or on abort (cancelled), while the request stays pending', async () => {
    const id = await requested('ACME-003');
    const late = await refusal(client.waitForApproval(id, { deadlineMs: 300 }));
    expect([late.code, late.grpcStatus]).toEqual(['deadline_exceeded', 'DEADLINE_EXCEEDED']);
    const abort = new AbortController();
    const waiting = client.waitForApproval(id, { signal: abort.signal });
    setTimeout(() => abort.abort(), 100);
    expect((await refusal(waiting)).code).toBe('cancelled');
    expect((await srv.core.approvals!.get(id)).state).toBe('pending');
  });

  it('an unknown id: approval_not_found', async () => {
    const err = await refusal(client.waitForApproval('no-such-approval', { deadlineMs: 5_000 }));
    expect([err.code, err.grpcStatus, err.retryable]).toEqual(['approval_not_found', 'NOT_FOUND', false]);
  });
});

describe('waitForApproval across a server restart', () => {
  it('watches again when the server ends the watch while the request is pending, and resolves from the server that came back', async () => {
    const port = await freePort();
    const ledger = join(tempDir(), 'l.db');
    const first = await serveOn(port, { bundles: BUNDLES, ledger });
    const c = createClient({
      target: `127.0.0.1:${port}`,
      tls: 'insecure',
      retry: { maxAttempts: 40, initialBackoffMs: 100, maxBackoffMs: 500 },
      breaker: false,
    });
    let second: Awaited<ReturnType<typeof serveOn>> | undefined;
    try {
      const d = await c.decide(transfer(25_000, { to: 'ACME-004' }));
      const waiting = c.waitForApproval(d.approval!.id, { deadlineMs: 20_000 });
      expect(await within(waiting, 200)).toBe('waiting');
      await first.stop(); // a server shutting down ends its watches
      second = await serveOn(port, { bundles: BUNDLES, ledger });
      const again = clients(`127.0.0.1:${port}`);
      try {
        await resolve(again, d.approval!.id, 'VERDICT_APPROVE', MANAGER);
      } finally {
        again.close();
      }
      expect(await waiting).toMatchObject({ id: d.approval!.id, state: 'approved' });
    } finally {
      await c.close();
      await second?.stop();
    }
  });
});
