import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clients, jsonInput, unary } from '../helpers/client.js';
import { FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { failedStart, startChild } from '../helpers/server.js';
import { echoInput } from '../ledger/fixtures.js';

/** `gavel serve`'s approval flags: the defaults a request gets when its policy names no approvers and no expiry. */
describe('gavel serve approval flags', () => {
  it('--approval-approvers and --approval-expires fill in what the policy left out', async () => {
    const srv = await startChild([
      '--bundles',
      FIXTURE_BUNDLES,
      '--ledger',
      join(tempDir(), 'l.db'),
      '--approval-approvers',
      'role:security',
      '--approval-approvers',
      'user:root',
      '--approval-expires',
      '10m',
    ]);
    const c = clients(srv.address);
    try {
      const before = Date.now();
      const res = await unary(c.decision, 'Decide', { policy: 'fixtures/echo', ...jsonInput(echoInput({ decision: 'require_approval' })) });
      expect(res.decision).toBe('DECISION_REQUIRE_APPROVAL');
      expect(res.approval).toMatchObject({ approvers: ['role:security', 'user:root'], min_approvals: 1, state: 'pending' });
      const expires = Date.parse(res.approval.expires_at);
      expect(expires).toBeGreaterThanOrEqual(before + 600_000 - 1000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 600_000 + 1000);
      // user:root may approve as a person, whatever roles it holds.
      const approved = await unary(c.approval, 'Resolve', {
        approval_id: res.approval.approval_id,
        verdict: 'VERDICT_APPROVE',
        approver: { id: 'root', roles: [] },
      });
      expect(approved.state).toBe('approved');
    } finally {
      c.close();
      srv.child.kill('SIGTERM');
      await srv.exited;
    }
  });

  it('a bad duration, or a default longer than the maximum, exits 2 or 3 with the reason', async () => {
    const bad = await failedStart(['--bundles', FIXTURE_BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--approval-expires', 'soon']);
    expect(bad).toMatch(/--approval-expires.*must be a duration/);
    const longer = await failedStart(['--bundles', FIXTURE_BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--approval-expires', '40d']);
    expect(longer).toMatch(/maxExpiresSeconds/);
  });
});
