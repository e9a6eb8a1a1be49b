import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  appendFileSync,
  chmodSync,
  chownSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { ciIsSet } from './ci.js';

/** A throwaway PostgreSQL server on 127.0.0.1, with superuser `gavel` and database `gavel`. */
export interface TestPostgres {
  /** postgres://gavel:<password>@127.0.0.1:<port>/gavel */
  url: string;
  port: number;
  dataDir: string;
  /** pg_ctl stop -m fast: the server goes down, the data stays (simulates the database going away). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the server and removes every temp dir; safe to call twice. */
  close(): Promise<void>;
  /** Runs SQL as the superuser; the rows of the (last) statement. */
  query(sql: string): Promise<Array<Record<string, unknown>>>;
}

export interface StartPostgresOptions {
  /** Turns on TLS (the server still accepts plain connections): files are copied for the server user, key mode 0600. */
  ssl?: { certFile: string; keyFile: string };
}

const USER = 'gavel';
const DATABASE = 'gavel';
const READY_TIMEOUT_S = 30;
const SEARCH = 'looked for /usr/lib/postgresql/*/bin/initdb and initdb on PATH';

/** How server commands are run: directly, or (as root) as the `postgres` system user. */
interface Runner {
  /** argv[0] and the arguments before the command. */
  prefix: string[];
  /** uid/gid to own the temp dirs, when running as another user. */
  owner?: { uid: number; gid: number };
}

/** The folder with initdb, pg_ctl and postgres: the highest /usr/lib/postgresql/<v>/bin, then initdb on PATH. */
function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = readdirSync(root);
  } catch {
    // No Debian layout.
  }
  const debian = versions
    .filter((v) => isExecutable(join(root, v, 'bin', 'initdb')) && isExecutable(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => compareVersions(b, a));
  if (debian[0] !== undefined) return join(root, debian[0], 'bin');
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const initdb = join(dir, 'initdb');
    if (!isExecutable(initdb)) continue;
    // Prefer the real folder of a symlinked initdb, where pg_ctl and postgres live beside it.
    const real = dirname(realpathSync(initdb));
    if (isExecutable(join(real, 'pg_ctl'))) return real;
    if (isExecutable(join(dir, 'pg_ctl'))) return dir;
  }
  return undefined;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Number.isNaN(d) ? a.localeCompare(b) : d;
  }
  return 0;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(delimiter)]) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The runner, or why there is none. */
function findRunner(): Runner | string {
  if (process.getuid?.() !== 0) return { prefix: [] };
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return "running as root, and there is no 'postgres' system user to run the server as (initdb refuses root)";
  }
  const runuser = findOnPath('runuser');
  if (runuser) return { prefix: [runuser, '-u', 'postgres', '--'], owner: { uid, gid } };
  const setpriv = findOnPath('setpriv');
  if (setpriv) return { prefix: [setpriv, `--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--'], owner: { uid, gid } };
  return "running as root, and neither runuser nor setpriv is there to run the server as the 'postgres' user";
}

/**
 * For `describe.skipIf(...)`: why PostgreSQL cannot start here, or undefined.
 * Under CI it never gives a reason: a missing server must fail the tests there, not skip them.
 */
export function postgresUnavailable(): string | undefined {
  if (ciIsSet()) return undefined;
  if (!findBinDir()) return `PostgreSQL server binaries not found (${SEARCH}); install the postgresql package`;
  const runner = findRunner();
  return typeof runner === 'string' ? runner : undefined;
}

interface Live {
  dataDir: string;
  baseDir: string;
}

/** Servers not yet closed, for the exit safety net. */
const live = new Set<Live>();
let exitHookInstalled = false;

/**
 * Synchronous last-resort cleanup: an immediate shutdown (SIGQUIT to the postmaster, which is what
 * `pg_ctl stop -m immediate` sends) of every server still running, then their temp dirs go.
 * Signals all servers first and waits for them together: vitest SIGKILLs a worker 500 ms after its SIGTERM.
 */
function stopAllNow(): void {
  const pidFiles: string[] = [];
  for (const l of live) {
    const pidFile = join(l.dataDir, 'postmaster.pid');
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (pid > 0) {
        process.kill(pid, 'SIGQUIT');
        pidFiles.push(pidFile);
      }
    } catch {
      // Not running (no pid file) or already gone.
    }
  }
  // The postmaster removes its pid file on the way out; wait a little for that before removing its dir.
  const deadline = Date.now() + 400;
  const tick = new Int32Array(new SharedArrayBuffer(4));
  while (pidFiles.some((f) => existsSync(f)) && Date.now() < deadline) Atomics.wait(tick, 0, 0, 10);
  for (const l of live) rmSync(l.baseDir, { recursive: true, force: true });
  live.clear();
}

/**
 * The safety net for a process killed outright (SIGKILL: a test runner's timeout, the OOM killer), which
 * runs no hook: a shell of its own, outside this process's tree, polls once a second until this process
 * is gone, then shuts the server down at once and removes its folder. It ends by itself once the folder
 * is gone (the server was closed as usual).
 */
function reapWhenOwnerDies(dataDir: string, baseDir: string): void {
  const loop = [
    'while kill -0 "$1" 2>/dev/null && [ -d "$3" ]; do sleep 1; done',
    '[ -d "$3" ] || exit 0',
    'pid=$(head -n 1 "$2/postmaster.pid" 2>/dev/null)',
    '[ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null',
    'sleep 1',
    'rm -rf "$3"',
  ].join('; ');
  // The subshell in the background outlives the shell that starts it, and is nobody's child here.
  const child = spawn('sh', ['-c', `( ${loop} ) >/dev/null 2>&1 &`, 'gavel-pg-reaper', String(process.pid), dataDir, baseDir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', stopAllNow);
  // Vitest ends its fork workers with SIGTERM, which skips 'exit': clean up, then die of the signal as before.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = () => {
      stopAllNow();
      if (process.listenerCount(signal) === 1) {
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

function run(runner: Runner, cwd: string, file: string, args: string[], timeoutMs: number): Promise<void> {
  const [cmd, ...rest] = [...runner.prefix, file, ...args];
  return new Promise((resolve, reject) => {
    execFile(cmd!, rest, { cwd, timeout: timeoutMs, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', LANG: 'C' } }, (error, stdout, stderr) => {
      if (!error) return resolve();
      const how = error.killed ? `timed out after ${timeoutMs} ms` : `exit ${String(error.code)}`;
      const output = `${stderr}\n${stdout}`.trim();
      const what = [file.split('/').pop(), ...(args[0] && !args[0].startsWith('-') ? [args[0]] : [])].join(' ');
      reject(new Error(`${what} failed (${how})${output ? `:\n${output}` : ''}`));
    });
  });
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** A postgresql.conf string literal. */
function confValue(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value.replace(/'/g, "''")}'`;
}

/** A client connected to a URL within timeoutMs; a server going away later does not crash the process. */
export async function connect(connectionString: string, timeoutMs: number): Promise<pg.Client> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: timeoutMs });
  // A server going away later must not crash the test process through an unhandled 'error'.
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
}

/** Polls until a superuser connection succeeds, for at most READY_TIMEOUT_S. */
async function waitReady(connectionString: string, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_S * 1000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const client = await connect(connectionString, 2000);
      await client.end();
      return;
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`PostgreSQL did not accept connections within ${READY_TIMEOUT_S} s: ${String(last)}\n${tail(logFile)}`);
}

/** Starts a throwaway PostgreSQL server; throws with a clear message if it cannot. */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<TestPostgres> {
  const binDir = findBinDir();
  if (!binDir) throw new Error(`startPostgres: PostgreSQL server binaries not found (${SEARCH}); install the postgresql package`);
  const runner = findRunner();
  if (typeof runner === 'string') throw new Error(`startPostgres: ${runner}`);
  const initdb = join(binDir, 'initdb');
  const pgCtl = join(binDir, 'pg_ctl');

  const baseDir = mkdtempSync(join(tmpdir(), 'gavel-pg-'));
  const dataDir = join(baseDir, 'data');
  const socketDir = join(baseDir, 'socket');
  const logFile = join(baseDir, 'postgres.log');
  const pwFile = join(baseDir, 'pwfile');
  const password = randomBytes(18).toString('base64url');
  const own = (path: string) => {
    if (runner.owner) chownSync(path, runner.owner.uid, runner.owner.gid);
  };
  const entry: Live = { dataDir, baseDir };
  installExitHook();
  live.add(entry);
  reapWhenOwnerDies(dataDir, baseDir);

  let port = 0;
  let url = '';
  let running = false;
  let closed = false;
  // A failed or timed-out start can still leave a server behind: the pid file tells.
  const mayBeUp = () => running || existsSync(join(dataDir, 'postmaster.pid'));

  const pgCtlStart = async () => {
    await run(runner, baseDir, pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', String(READY_TIMEOUT_S), '-s'], (READY_TIMEOUT_S + 10) * 1000).catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${tail(logFile)}`);
      },
    );
    running = true;
  };
  const pgCtlStop = async (mode: 'fast' | 'immediate') => {
    await run(runner, baseDir, pgCtl, ['stop', '-D', dataDir, '-m', mode, '-w', '-t', String(READY_TIMEOUT_S), '-s'], (READY_TIMEOUT_S + 10) * 1000);
    running = false;
  };

  try {
    own(baseDir);
    mkdirSync(socketDir, { mode: 0o700 });
    own(socketDir);
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    own(pwFile);
    // Its output (the "Success" banner) is kept only for an error message.
    await run(
      runner,
      baseDir,
      initdb,
      ['-D', dataDir, '-U', USER, `--pwfile=${pwFile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
      120_000,
    );
    rmSync(pwFile, { force: true });

    const settings: Record<string, string | number> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: socketDir,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: 200,
    };
    if (opts.ssl) {
      const sslDir = join(baseDir, 'ssl');
      mkdirSync(sslDir, { mode: 0o700 });
      own(sslDir);
      const cert = join(sslDir, 'server.crt');
      const key = join(sslDir, 'server.key');
      copyFileSync(opts.ssl.certFile, cert);
      copyFileSync(opts.ssl.keyFile, key);
      chmodSync(cert, 0o644);
      chmodSync(key, 0o600);
      own(cert);
      own(key);
      Object.assign(settings, { ssl: 'on', ssl_cert_file: cert, ssl_key_file: key });
    }
    const conf = join(dataDir, 'postgresql.conf');
    const base = readFileSync(conf, 'utf8');

    // The free port is only free until someone else takes it: retry a taken one a few times.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      writeFileSync(conf, base);
      appendFileSync(
        conf,
        `\n# gavel test harness\n${Object.entries({ ...settings, port })
          .map(([k, v]) => `${k} = ${confValue(v)}`)
          .join('\n')}\n`,
      );
      try {
        await pgCtlStart();
        break;
      } catch (error) {
        if (attempt >= 3 || !/already in use|could not bind|could not create any TCP\/IP sockets/i.test(String(error))) throw error;
      }
    }
    const superuser = (database: string) => `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
    await waitReady(superuser('postgres'), logFile);
    const admin = await connect(superuser('postgres'), 10_000);
    try {
      await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }
    url = superuser(DATABASE);
  } catch (error) {
    if (mayBeUp()) await pgCtlStop('immediate').catch(() => {});
    const log = tail(logFile);
    live.delete(entry);
    rmSync(baseDir, { recursive: true, force: true });
    let message = error instanceof Error ? error.message : String(error);
    if (runner.owner && /permission denied/i.test(message)) {
      message += `\n(the server runs as the 'postgres' user, which must be able to reach ${tmpdir()}; set TMPDIR to a folder it can use)`;
    }
    throw new Error(`startPostgres: could not start PostgreSQL from ${binDir}: ${message}${log && !message.includes(log) ? `\n${log}` : ''}`);
  }

  return {
    url,
    port,
    dataDir,
    stop: async () => {
      if (closed) throw new Error('TestPostgres: stop() after close()');
      if (running) await pgCtlStop('fast');
    },
    start: async () => {
      if (closed) throw new Error('TestPostgres: start() after close()');
      if (!running) await pgCtlStart();
      await waitReady(url, logFile);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        if (mayBeUp()) await pgCtlStop('fast').catch(() => pgCtlStop('immediate').catch(() => {}));
      } finally {
        live.delete(entry);
        rmSync(baseDir, { recursive: true, force: true });
      }
    },
    query: (sql: string) => queryAt(url, sql),
  };
}

let databases = 0;

/** A new, empty database on the server, as a URL (each test gets its own: gavel creates its schema itself). */
export async function freshDatabase(db: TestPostgres, prefix = 'test'): Promise<string> {
  const name = `${prefix}_${process.pid}_${++databases}`;
  await db.query(`CREATE DATABASE ${name}`);
  const url = new URL(db.url);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs SQL against the database a URL names (any, not only the superuser's default one); the rows of the (last) statement. */
export async function queryAt(url: string, sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>> {
  const client = await connect(url, 10_000);
  try {
    const result: unknown = await client.query(sql, params);
    const last = Array.isArray(result) ? result[result.length - 1] : result;
    return ((last as pg.QueryResult | undefined)?.rows ?? []) as Array<Record<string, unknown>>;
  } finally {
    await client.end();
  }
}

/**
 * A throwaway server for the describe block this is called in: started before its tests, stopped and
 * removed after them (after `beforeClose`). Its members are read once the tests run (the server starts
 * in beforeAll).
 */
export function postgresForTests(o: { beforeClose?: () => Promise<void> } = {}): TestPostgres {
  let db: TestPostgres | undefined;
  beforeAll(async () => {
    db = await startPostgres();
  }, 60_000);
  // One hook, so what uses the server (`beforeClose`: runtimes on it) stops first whatever vitest's hook order.
  afterAll(async () => {
    try {
      await o.beforeClose?.();
    } finally {
      await db?.close();
    }
  });
  const started = (): TestPostgres => {
    if (!db) throw new Error('the test PostgreSQL server is not started yet: use it inside a test');
    return db;
  };
  return {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    get dataDir() {
      return started().dataDir;
    },
    stop: () => started().stop(),
    start: () => started().start(),
    close: () => started().close(),
    query: (sql) => started().query(sql),
  };
}
