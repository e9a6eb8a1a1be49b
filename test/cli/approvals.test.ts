import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { runCli, startInProcess, type InProcessServer } from '../helpers/server.js';
import { decide, transfer } from '../approvals/helpers.js';

/** `gavel approvals list|show|approve|reject` against a real server on 127.0.0.1, then the story in `gavel audit timeline`. */
let srv: InProcessServer;
let c: Clients;
const ledger = join(tempDir(), 'ledger.db');

beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const cli = (...args: string[]) => runCli(['approvals', ...args, '--server', srv.address]);

describe('gavel approvals', () => {
  it('an operator lists, shows and approves; the retried call is allowed; the timeline tells who did what', async () => {
    const asked = await decide(c, transfer(25_000));
    const id = asked.approval.approval_id as string;

    const list = await cli('list', '--state', 'pending', '--approver-role', 'finance-manager', '--json');
    expect(list.code, list.stderr).toBe(0);
    const rows = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    expect(rows.find((r) => r.approval_id === id)).toMatchObject({ state: 'pending', subject_id: 'fiona', params: { amount: 25_000 } });

    const text = await cli('list', '--state', 'pending');
    expect(text.stdout).toContain(id);
    expect(text.stdout).toContain('payments.transfer');

    const self = await cli('approve', id, '--as', 'fiona', '--role', 'finance-manager');
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/subject of this request.*\(approver_not_allowed\)/);

    const approved = await cli('approve', id, '--as', 'mia', '--role', 'finance-manager', '--comment', 'invoice checked');
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/approval +\S+ +approved/);
    expect(approved.stdout).toContain('vote       approve by mia (finance-manager)');
    expect(approved.stdout).toContain('"invoice checked"');

    const shown = await cli('show', id, '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({ state: 'approved', votes: [{ approver: { id: 'mia' }, comment: 'invoice checked' }] });

    const allowed = await decide(c, transfer(25_000, { approvalId: id }));
    expect(allowed.decision).toBe('DECISION_ALLOW');

    const again = await cli('reject', id, '--as', 'noah', '--role', 'finance-manager');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('(approval_not_pending)');

    const story = await runCli(['audit', 'timeline', '--ledger', ledger, '--subject', 'fiona']);
    expect(story.code, story.stderr).toBe(0);
    const lines = story.stdout.split('\n').filter((l) => l.includes(`== approval ${id}`));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain(`requested by decision ${asked.decision_id}`);
    expect(lines[1]).toMatch(/approved by mia \(finance-manager\) via unverified:gavel-cli \(1 of 1; now approved\): "invoice checked"/);
    expect(lines[2]).toContain(`consumed by decision ${allowed.decision_id}`);
    const json = await runCli(['audit', 'timeline', '--ledger', ledger, '--subject', 'fiona', '--json']);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    expect(events.filter((e) => e.kind === 'approval').map((e) => e.approval.event)).toEqual(['requested', 'approved', 'consumed']);
  });

  it('bad flags exit 2; an unknown id exits 1; no server exits 3', async () => {
    expect((await cli('approve', 'x')).code).toBe(2);
    expect((await cli('list', '--limit', 'many')).code).toBe(2);
    expect((await cli('list', '--limit', '1001')).code).toBe(2);
    const unknown = await cli('show', 'no-such-id');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('(approval_not_found)');
    const down = await runCli(['approvals', 'list', '--server', '127.0.0.1:1']);
    expect(down.code).toBe(3);
  });
});
