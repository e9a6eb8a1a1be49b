import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './paths.js';
import { connect, postgresUnavailable, startPostgres, type TestPostgres } from './postgres.js';

const unavailable = postgresUnavailable();
if (unavailable) console.warn(`skipping the PostgreSQL harness tests: ${unavailable}`);

const connectOnce = (url: string) => connect(url, 5000);

/** A process that starts a server, says where, and waits to be killed. */
const STARTS_AND_WAITS = `
import { startPostgres } from './test/helpers/postgres.ts';
const db = await startPostgres();
console.log(JSON.stringify({ url: db.url, dataDir: db.dataDir }));
setInterval(() => {}, 1000);
`;

describe.skipIf(unavailable)('test PostgreSQL harness', () => {
  let db: TestPostgres;

  beforeAll(async () => {
    db = await startPostgres();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('starts a server on 127.0.0.1 that runs SQL as the superuser', async () => {
    expect(db.url).toMatch(new RegExp(`^postgres://gavel:[^@]+@127\\.0\\.0\\.1:${db.port}/gavel$`));
    expect(await db.query('select 1 as one')).toEqual([{ one: 1 }]);
    expect(await db.query('select current_database() as db, current_user as who')).toEqual([{ db: 'gavel', who: 'gavel' }]);
  });

  it('accepts pg clients through url', async () => {
    const client = await connectOnce(db.url);
    try {
      const { rows } = await client.query<{ n: number }>('select 40 + 2 as n');
      expect(rows).toEqual([{ n: 42 }]);
    } finally {
      await client.end();
    }
  });

  it('stop() takes the server down and start() brings it back on the same port with the data kept', async () => {
    await db.query('create table kept (id int primary key, note text)');
    await db.query("insert into kept values (1, 'before stop')");
    const port = db.port;

    await db.stop();
    await expect(connectOnce(db.url)).rejects.toThrow();

    await db.start();
    expect(db.port).toBe(port);
    const client = await connectOnce(db.url);
    try {
      const { rows } = await client.query('select id, note from kept');
      expect(rows).toEqual([{ id: 1, note: 'before stop' }]);
    } finally {
      await client.end();
    }
  });

  it('a process killed outright (SIGKILL, no hook runs) leaves no server and no folder behind', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', STARTS_AND_WAITS], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const started = await new Promise<{ url: string; dataDir: string }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line) as { url: string; dataDir: string });
      });
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before its server started`)));
    });
    await (await connectOnce(started.url)).end();
    const postmaster = Number(readFileSync(join(started.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const alive = () => {
      try {
        process.kill(postmaster, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);
    child.kill('SIGKILL');
    await expect.poll(alive, { timeout: 15_000, interval: 250 }).toBe(false);
    await expect.poll(() => existsSync(started.dataDir), { timeout: 15_000, interval: 250 }).toBe(false);
    await expect(connectOnce(started.url)).rejects.toThrow();
  }, 60_000);

  it('close() removes the data dir and is safe to call twice', async () => {
    const other = await startPostgres();
    expect(existsSync(other.dataDir)).toBe(true);
    await other.close();
    expect(existsSync(other.dataDir)).toBe(false);
    await other.close();
    await expect(connectOnce(other.url)).rejects.toThrow();
  });
});
