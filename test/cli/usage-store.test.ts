import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, issue } from '../../src/lib/dev-certs.js';
import { clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { freshDatabase, postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { failedStart, runCli, startChild } from '../helpers/server.js';
import { decide, modelCall, usageOf } from '../usage/helpers.js';

/** `gavel usage migrate` and `gavel serve --usage-store`, against a real PostgreSQL (with TLS, to check sslmode). */
const skip = postgresUnavailable();
if (skip) console.warn(`skipping usage store CLI tests: ${skip}`);

describe.skipIf(skip)('the usage store from the command line', () => {
  let db: TestPostgres;
  let caFile: string;
  const freshUrl = () => freshDatabase(db, 'cli');

  beforeAll(async () => {
    const dir = tempDir('gavel-pg-tls-');
    const ca = await createAuthority('gavel test database CA');
    const server = await issue(ca, { cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], usage: ['server'] });
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, ca.cert);
    writeFileSync(join(dir, 'server.pem'), server.cert);
    writeFileSync(join(dir, 'server.key'), server.key);
    db = await startPostgres({ ssl: { certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') } });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it('gavel usage migrate creates the schema, then finds nothing to do; never prints the password', async () => {
    const url = await freshUrl();
    const first = await runCli(['usage', 'migrate', '--usage-store', url]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/schema migrated from version 0 to 3 \(applied 1, 2, 3\)/);
    const again = await runCli(['usage', 'migrate', '--usage-store', url, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ from: 3, to: 3, applied: [] });
    const password = new URL(url).password;
    expect(first.stdout + again.stdout).not.toContain(password);
    expect(again.stdout).toContain('***');
  });

  it('gavel usage migrate without a URL exits 2; against no database, 3 with the reason', async () => {
    expect((await runCli(['usage', 'migrate'])).code).toBe(2);
    const down = await runCli(['usage', 'migrate', '--usage-store', 'postgres://gavel:hunter2@127.0.0.1:1/gavel', '--timeout', '1000']);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/could not be migrated/);
    expect(down.stderr).not.toContain('hunter2');
  });

  it('gavel serve does not start when the usage store cannot be opened, and says so without the password', async () => {
    const refused = await failedStart([
      '--bundles',
      BUNDLES,
      '--ledger',
      join(tempDir(), 'l.db'),
      '--usage-store',
      'postgres://gavel:hunter2@127.0.0.1:1/gavel',
      '--usage-store-timeout',
      '1000',
    ]);
    expect(refused).toMatch(/usage store/);
    expect(refused).not.toContain('hunter2');
    expect(await failedStart(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--usage-store', 'mysql://x'])).toMatch(
      /must be a postgres:\/\/ or postgresql:\/\/ URL/,
    );
  });

  it('sslmode=verify-full with the database CA: gavel serves over TLS to PostgreSQL; another CA is refused at start', async () => {
    const url = `${await freshUrl()}?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`;
    const srv = await startChild(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--workers', '0', '--usage-store', url]);
    const c = clients(srv.address);
    try {
      const who = { subject: 'tls-user', team: 'tls-team', costCenter: 'cc-tls' };
      const d = await decide(c, modelCall(who));
      expect(d.decision).toBe('DECISION_ALLOW');
      expect((await usageOf(c, 'team', 'tls-team')).week.reserved_tokens).toBe(101);
      const ssl = await db.query(
        `SELECT bool_and(s.ssl) AS all_tls, count(*) AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'gavel'`,
      );
      expect(Number(ssl[0]!.n)).toBeGreaterThan(0);
      expect(ssl[0]!.all_tls).toBe(true);
    } finally {
      c.close();
      srv.child.kill('SIGTERM');
      await srv.exited;
    }
    const otherDir = tempDir('gavel-other-ca-');
    const other = await createAuthority('not the database CA');
    writeFileSync(join(otherDir, 'ca.pem'), other.cert);
    const wrongCa = url.replace(encodeURIComponent(caFile), encodeURIComponent(join(otherDir, 'ca.pem')));
    const refused = await failedStart(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--usage-store', wrongCa]);
    expect(refused).toMatch(/usage store.*could not be opened/);
  }, 60_000);
});
