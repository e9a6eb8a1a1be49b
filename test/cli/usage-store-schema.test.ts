import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clients, unaryError, type Clients } from '../helpers/client.js';
import { healthClient } from '../helpers/health.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { freshDatabase, postgresForTests, postgresUnavailable, queryAt } from '../helpers/postgres.js';
import { runCli, startChild, type ChildServer } from '../helpers/server.js';
import { decide, modelCall, type Caller } from '../usage/helpers.js';

/**
 * `gavel serve` on a shared usage store whose replica role loses a privilege, then whose table is
 * dropped, while it runs: every Decide fails closed, health says NOT_SERVING (not SERVING while
 * every call fails), and it serves again without a restart once a grant, then `gavel usage migrate`
 * and a grant, fix the store.
 */
const skip = postgresUnavailable();
if (skip) console.warn(`skipping usage store schema CLI tests: ${skip}`);

describe.skipIf(skip)('gavel serve on a usage store changed under it', () => {
  const db = postgresForTests();

  it('a revoked privilege or a dropped table: NOT_SERVING with the reason logged, SERVING again once fixed', async () => {
    const admin = await freshDatabase(db, 'serve_schema');
    expect((await runCli(['usage', 'migrate', '--usage-store', admin])).code).toBe(0);
    const role = `gavel_replica_${process.pid}`;
    await queryAt(admin, `CREATE ROLE ${role} LOGIN PASSWORD 'replica-secret'; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
    const url = new URL(admin);
    url.username = role;
    url.password = 'replica-secret';
    const who: Caller = { subject: 'schema-user', team: 'schema-team', costCenter: 'cc-schema' };
    let srv: ChildServer | undefined;
    let c: Clients | undefined;
    let health: ReturnType<typeof healthClient> | undefined;
    try {
      srv = await startChild(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--workers', '0', '--usage-store', url.toString()]);
      c = clients(srv.address);
      const h = healthClient(srv.address);
      health = h;
      const refused = async () => {
        const err = await unaryError(c!.decision, 'Decide', { input_json: Buffer.from(JSON.stringify(modelCall(who))) });
        expect(err.code).toBe(grpc.status.UNAVAILABLE);
        expect(err.metadata.get('gavel-error-code')[0]).toBe('usage_unavailable');
      };
      expect((await decide(c, modelCall(who))).decision).toBe('DECISION_ALLOW');
      expect(await h.check()).toBe('SERVING');

      await queryAt(admin, `REVOKE SELECT ON gavel_usage_charges FROM ${role}`);
      await refused();
      await expect.poll(() => h.check(), { timeout: 5000 }).toBe('NOT_SERVING');
      const down = srv.lines.find((l) => l.includes('usage store unavailable'));
      expect(down).toMatch(/gavel's role was refused \(permission denied for table gavel_usage_charges\)/);
      expect(srv.lines.join('\n')).not.toContain('replica-secret');
      await refused();
      await queryAt(admin, `GRANT SELECT ON gavel_usage_charges TO ${role}`);
      await expect.poll(() => h.check(), { timeout: 10_000 }).toBe('SERVING');
      expect((await decide(c, modelCall(who))).decision).toBe('DECISION_ALLOW');

      await queryAt(admin, 'DROP TABLE gavel_usage_requests');
      await refused();
      await expect.poll(() => h.check(), { timeout: 5000 }).toBe('NOT_SERVING');
      const migrated = await runCli(['usage', 'migrate', '--usage-store', admin]);
      expect(migrated.code).toBe(0);
      expect(migrated.stdout).toMatch(
        /schema already at version 3; created again, empty: table gavel_usage_requests, index gavel_usage_requests_subject, index gavel_usage_requests_time, index gavel_usage_requests_subject_seq/,
      );
      // The table is back, owned by the migrating role: the probe checks the replica's privileges too, not only that the database answers.
      await new Promise((r) => setTimeout(r, 2500));
      expect(await h.check()).toBe('NOT_SERVING');
      await queryAt(admin, `GRANT SELECT, INSERT, DELETE ON gavel_usage_requests TO ${role}`);
      await expect.poll(() => h.check(), { timeout: 10_000 }).toBe('SERVING');
      expect((await decide(c, modelCall(who))).decision).toBe('DECISION_ALLOW');
    } finally {
      health?.close();
      c?.close();
      srv?.child.kill('SIGTERM');
      await srv?.exited;
    }
  }, 60_000);
});
