import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonInput, unary, type Clients } from '../helpers/client.js';
import { tempDir } from '../helpers/paths.js';
import { verifierKeyOf } from '../helpers/pg-replicas.js';
import { buildPki, tlsClients, type Pki } from '../helpers/pki.js';
import { freshDatabase, postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { BUNDLES } from '../helpers/paths.js';
import { startChild, type ChildServer } from '../helpers/server.js';
import { transfer, watch } from './helpers.js';

/**
 * Three `gavel serve` processes over mutual TLS with an access file, each with its own ledger and
 * key and the others' keys (--peer-key), sharing one real PostgreSQL: the approval loop works
 * whichever replica each call lands on, with the approver authenticated by their certificate, and
 * goes on when the replica that made the request is killed.
 */

const skip = postgresUnavailable();

const ACCESS = `
identities:
  - match: gw
    roles: [decide]
  - match: mia
    roles: [approve]
people:
  - match: mia
    roles: [finance-manager]
`;

interface Replica {
  srv: ChildServer;
  ledger: string;
}

describe.skipIf(skip)('three gavel serve replicas sharing approvals', () => {
  let db: TestPostgres;
  let pki: Pki;
  const open: Clients[] = [];
  const running: Replica[] = [];

  beforeAll(async () => {
    db = await startPostgres();
    pki = await buildPki({ gateway: { cn: 'gw' }, mia: { cn: 'mia' } });
  }, 60_000);
  afterAll(async () => {
    for (const c of open) c.close();
    for (const r of running) r.srv.child.kill('SIGKILL');
    await Promise.all(running.map((r) => r.srv.exited));
    await db?.close();
  });

  async function replicas(url: string, n: number): Promise<Replica[]> {
    const dir = tempDir('gavel-shared-approvals-');
    const access = join(dir, 'access.yaml');
    writeFileSync(access, ACCESS);
    const ledgers = Array.from({ length: n }, (_, i) => join(dir, `replica-${i}.db`));
    // Each ledger and its key made first, so that every replica can be given the others' keys.
    // As README "Several replicas" has it: each key in a file (`gavel audit pubkey --ledger a.db > a.pub`), given by its name.
    const keys = await Promise.all(
      ledgers.map(async (ledger) => {
        writeFileSync(`${ledger}.pub`, `${await verifierKeyOf(ledger)}\n`);
        return `${ledger}.pub`;
      }),
    );
    return Promise.all(
      ledgers.map(async (ledger, i) => {
        const peers = keys.filter((_, j) => j !== i).flatMap((k) => ['--peer-key', k]);
        const tls = ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--client-ca', pki.caFile, '--access', access];
        const srv = await startChild(['--bundles', BUNDLES, '--ledger', ledger, '--workers', '0', '--state-store', url, ...peers, ...tls]);
        const r = { srv, ledger };
        running.push(r);
        return r;
      }),
    );
  }

  const as = (r: Replica, who: 'gateway' | 'mia') => {
    const c = tlsClients(r.srv.address, pki.caPem, pki.clients[who]);
    open.push(c);
    return c;
  };

  const decide = (r: Replica, input: unknown) => unary(as(r, 'gateway').decision, 'Decide', jsonInput(input));
  /** Mia resolves with her own certificate: the approver is the caller, her roles from the access file. */
  const approve = (r: Replica, id: string) =>
    unary(as(r, 'mia').approval, 'Resolve', { approval_id: id, verdict: 'VERDICT_APPROVE', approver: { id: '', roles: [] }, comment: 'ok' });

  it('REQUIRE_APPROVAL on A, listed and resolved on B by a certificate, watched and used once on C; ten concurrent uses allow one', async () => {
    const [a, b, c] = await replicas(await freshDatabase(db, 'serve_approvals'), 3);
    const asked = await decide(a!, transfer(50_000));
    expect(asked.decision).toBe('DECISION_REQUIRE_APPROVAL');
    const id = asked.approval.approval_id as string;

    const listed = await unary(as(b!, 'mia').approval, 'ListApprovals', { state: 'pending', limit: 10 });
    expect(listed.approvals.map((x: { approval_id: string }) => x.approval_id)).toEqual([id]);

    const states: string[] = [];
    const watched = watch(as(c!, 'gateway'), id, (x) => states.push(x.state));
    await expect.poll(() => states, { timeout: 15_000 }).toEqual(['pending']);
    const voted = await approve(b!, id);
    expect(voted.state).toBe('approved');
    await expect.poll(() => states, { timeout: 15_000 }).toEqual(['pending', 'approved']);
    expect(voted.votes[0].approver).toEqual({ id: 'mia', roles: ['finance-manager'] });

    const all = [a!, b!, c!];
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => decide(all[(i + 2) % 3]!, transfer(50_000, { approvalId: id }))));
    expect(outcomes.filter((o) => o.decision === 'DECISION_ALLOW')).toHaveLength(1);
    await watched;
    expect(states).toEqual(['pending', 'approved', 'consumed']);
  });

  it('the replica that made the request is killed mid-flow: the others still list, resolve and use it', async () => {
    const [a, b, c] = await replicas(await freshDatabase(db, 'serve_approvals_kill'), 3);
    const id = (await decide(a!, transfer(60_000))).approval.approval_id as string;
    a!.srv.child.kill('SIGKILL');
    await a!.srv.exited;

    const listed = await unary(as(c!, 'mia').approval, 'ListApprovals', { limit: 10 });
    expect(listed.approvals.map((x: { approval_id: string; state: string }) => [x.approval_id, x.state])).toEqual([[id, 'pending']]);
    expect((await approve(b!, id)).state).toBe('approved');
    expect((await decide(c!, transfer(60_000, { approvalId: id }))).decision).toBe('DECISION_ALLOW');
    const got = await unary(as(b!, 'mia').approval, 'GetApproval', { approval_id: id });
    expect(got.state).toBe('consumed');
  });
});
