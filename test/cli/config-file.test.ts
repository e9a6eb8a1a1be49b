import { runtimeConfigFrom } from '../../src/cli/serve-config.js';
import pino from 'pino';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Command, CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkConfigText, configKey, envOf, readConfigFile } from '../../src/cli/config-file.js';
import { EXIT } from '../../src/cli/exit.js';
import { serveCommand, type ServeOptions } from '../../src/cli/serve-flags.js';
import { MAX_WORKERS } from '../../src/engine/config.js';
import { healthClient } from '../helpers/health.js';
import { BUNDLES, GAVEL_BIN, ROOT, tempDir } from '../helpers/paths.js';
import { runCli, servingLine, startChild } from '../helpers/server.js';

/**
 * `gavel serve --config FILE`: the file's keys are the flags, parsed by the flags' own parsers, read
 * all or nothing; a flag, then its env variable, wins over the file. In process: the real serve
 * command with an action that only keeps the options. End to end: a served file, and `gavel config check`.
 */

afterEach(() => {
  vi.unstubAllEnvs();
});

function configFile(text: string): string {
  const file = join(tempDir('gavel-config-'), 'gavel.yaml');
  writeFileSync(file, text);
  return file;
}

interface Parsed {
  options?: ServeOptions;
  error?: CommanderError;
  stderr: string;
  source(name: string): string | undefined;
}

/** Parses `gavel serve ARGS` as main.ts does, up to the action, which only keeps the options. */
async function parseServe(args: string[]): Promise<Parsed> {
  let stderr = '';
  const program = new Command('gavel').exitOverride().configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => {} });
  const result: Parsed = { stderr: '', source: (name) => serve.getOptionValueSource(name) };
  const serve = serveCommand(program).action((o: ServeOptions) => {
    result.options = o;
  });
  try {
    await program.parseAsync(['serve', ...args], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    result.error = err;
  }
  result.stderr = stderr;
  return result;
}

describe('gavel serve --config, in process', () => {
  it("the file's values reach the options as the flags' parsers make them", async () => {
    const file = configFile(
      [
        'listen: 127.0.0.1:50999',
        'workers: 0',
        'metering: false',
        'watch-bundles: false',
        'bundle-url: [https://a.example/ai.tar.gz, https://b.example/ai.tar.gz]',
        'bundle-max-bytes: 64MiB',
        'approval-expires: 2h',
        'approval-approvers: role:finance-manager',
        'insecure: true',
        'durability: full',
      ].join('\n'),
    );
    const { options, error, source } = await parseServe(['--config', file]);
    expect(error).toBeUndefined();
    expect(options).toMatchObject({
      listen: '127.0.0.1:50999',
      workers: 0,
      metering: false,
      watchBundles: false,
      bundleUrl: ['https://a.example/ai.tar.gz', 'https://b.example/ai.tar.gz'],
      bundleMaxBytes: 64 * 1024 * 1024,
      approvalExpires: 7200,
      approvalApprovers: ['role:finance-manager'],
      insecure: true,
      durability: 'full',
    });
    expect(source('workers')).toBe('config');
    // What the file does not name keeps its default.
    expect(options?.ledger).toBe('./data/ledger.db');
    expect(source('ledger')).toBe('default');
  });

  it('a flag overrides the file, a list included (replaced, not merged)', async () => {
    const file = configFile('workers: 0\nbundle-url: [https://a.example/ai.tar.gz]\nmetering: true\nledger: file.db\n');
    const { options, source } = await parseServe(['--config', file, '--workers', '3', '--bundle-url', 'https://c.example/x.tar.gz', '--no-metering']);
    expect(options).toMatchObject({ workers: 3, bundleUrl: ['https://c.example/x.tar.gz'], metering: false, ledger: 'file.db' });
    expect(source('workers')).toBe('cli');
    expect(source('ledger')).toBe('config');
  });

  it('an env variable overrides the file; the file overrides the default; GAVEL_CONFIG names the file', async () => {
    const file = configFile('metrics-listen: 127.0.0.1:9464\ntls-key: from-file.key\n');
    vi.stubEnv('GAVEL_METRICS_LISTEN', '127.0.0.1:9999');
    vi.stubEnv('GAVEL_CONFIG', file);
    const { options } = await parseServe([]);
    expect(options?.metricsListen).toBe('127.0.0.1:9999');
    expect(options?.tlsKey).toBe('from-file.key');
    expect(options?.config).toBe(file);
  });

  it('workers: 999 fails as --workers 999 does: exit 2, the same reason, and the action never runs', async () => {
    const flag = await parseServe(['--workers', '999']);
    const fromFile = await parseServe(['--config', configFile('workers: 999\n')]);
    const reason = `must be an integer from 0 to ${MAX_WORKERS}`;
    for (const run of [flag, fromFile]) {
      expect(run.options).toBeUndefined();
      // main.ts exits 2 (EXIT.usage) on every CommanderError that is not help's exit 0.
      expect(run.error).toBeInstanceOf(CommanderError);
      expect(run.error?.exitCode).not.toBe(0);
      expect(run.stderr).toContain(reason);
    }
    expect(fromFile.stderr).toContain(`gavel.yaml:1: workers: "999" is invalid: ${reason}`);
  });

  it('all or nothing: every problem is reported, each naming its key and line, and nothing is applied', async () => {
    const file = configFile(
      [
        'listen: 127.0.0.1:50998', // good, but not applied: the file is refused whole
        'workers: many',
        'lisen: 127.0.0.1:1',
        'bundleUrl: https://a.example/x.tar.gz',
        'no-metering: true',
        'metering: "no"',
        'bundle-url: [ftp://a.example/x.tar.gz]',
        'tls-cert: [a.pem, b.pem]',
        'durability: full',
        'durability: normal',
        'rebuild-state: true',
        'ledger:',
        'shutdown-timeout: {seconds: 10}',
      ].join('\n'),
    );
    const { options, error, stderr } = await parseServe(['--config', file]);
    expect(options).toBeUndefined();
    expect(error?.exitCode).toBe(EXIT.usage);
    const lines = stderr.trim().split('\n');
    expect(lines.map((l) => l.slice(l.indexOf('gavel.yaml'))).map((l) => l.replace(/^gavel\.yaml:/, ''))).toEqual([
      '2: workers: "many" is invalid: must be an integer from 0 to ' + MAX_WORKERS,
      '3: lisen: is not a flag of gavel serve (did you mean listen?)',
      '4: bundleUrl: is not a flag of gavel serve (did you mean bundle-url?)',
      '5: no-metering: is not a flag of gavel serve (did you mean metering: false?)',
      '6: metering: must be true or false, not "no"',
      '7: bundle-url: "ftp://a.example/x.tar.gz" is invalid: must be an http:// or https:// URL, not ftp:',
      '8: tls-cert: takes one value, not a list (--tls-cert is not repeatable)',
      '10: durability: appears twice (first on line 9)',
      '11: rebuild-state: rewrites the state tables from the chain; give --rebuild-state on the command line, once',
      '12: ledger: has no value',
      '13: shutdown-timeout: takes <seconds>, not a mapping',
    ]);
    for (const line of lines) expect(line).toMatch(/^error: /);
  });

  it('the whole file: not YAML, not a mapping, unreadable; an empty file sets nothing', () => {
    const serve = serveCommand(new Command('gavel'));
    expect(checkConfigText('listen: [\n', serve).problems[0]?.message).toMatch(/^is not valid YAML: /);
    expect(checkConfigText('- listen\n', serve).problems).toEqual([{ line: 1, message: 'must be a mapping of flag names to values' }]);
    expect(readConfigFile('/nonexistent/gavel.yaml', serve).problems[0]?.message).toMatch(/^cannot be read: .*ENOENT/);
    expect(checkConfigText('# nothing yet\n', serve)).toEqual({ values: [], problems: [] });
    expect(checkConfigText('new-ledger: true\nconfig: other.yaml\n', serve).problems.map((p) => p.key)).toEqual(['new-ledger', 'config']);
  });

  it('every flag has a key, and the env variables that rank above the file are the ones the help names', () => {
    const serve = serveCommand(new Command('gavel'));
    const keys = serve.options.map(configKey);
    expect(keys).toContain('metering');
    expect(keys).toContain('watch-bundles');
    expect(keys).not.toContain('no-metering');
    expect(new Set(keys).size).toBe(keys.length);
    const envs = serve.options.flatMap((o) => (envOf(o) ? [`${configKey(o)}=${envOf(o)}`] : []));
    expect(envs.sort()).toEqual(
      [
        'access=GAVEL_ACCESS',
        'bundle-url=GAVEL_BUNDLE_URLS',
        'bundle-verification-key=GAVEL_BUNDLE_VERIFICATION_KEY',
        'bundles=GAVEL_BUNDLES',
        'client-ca=GAVEL_CLIENT_CA',
        'config=GAVEL_CONFIG',
        'console-listen=GAVEL_CONSOLE_LISTEN',
        'decision-log-url=GAVEL_DECISION_LOG_URL',
        'durability=GAVEL_DURABILITY',
        'ext-authz-config=GAVEL_EXT_AUTHZ_CONFIG',
        'ext-authz-listen=GAVEL_EXT_AUTHZ_LISTEN',
        'idempotency-window=GAVEL_IDEMPOTENCY_WINDOW',
        'key=GAVEL_KEY',
        'ledger=GAVEL_LEDGER',
        'listen=GAVEL_LISTEN',
        'metrics-listen=GAVEL_METRICS_LISTEN',
        'peer-key=GAVEL_PEER_KEYS',
        'shadow-bundle-url=GAVEL_SHADOW_BUNDLE_URLS',
        'state-store=GAVEL_STATE_STORE',
        'shadow-bundles=GAVEL_SHADOW_BUNDLES',
        'time-zone=GAVEL_TIME_ZONE',
        'tls-cert=GAVEL_TLS_CERT',
        'tls-key=GAVEL_TLS_KEY',
        'usage-store=GAVEL_USAGE_STORE',
        'witness=GAVEL_WITNESSES',
        'witness-key=GAVEL_WITNESS_KEYS',
        'workers=GAVEL_WORKERS',
      ].sort(),
    );
  });

  it('--state-store is the shared store; --usage-store, its former name, still names it; two different stores are refused', async () => {
    const pg = 'postgres://gavel@127.0.0.1:5432/gavel';
    const log = pino({ level: 'silent' });
    for (const flag of ['--state-store', '--usage-store']) {
      const { options } = await parseServe([flag, pg]);
      expect(runtimeConfigFrom(options!, log).usageStore?.url, flag).toBe(pg);
    }
    const same = await parseServe(['--state-store', pg, '--usage-store', pg]);
    expect(runtimeConfigFrom(same.options!, log).usageStore?.url).toBe(pg);
    const both = await parseServe(['--state-store', pg, '--usage-store', `${pg}2`]);
    expect(() => runtimeConfigFrom(both.options!, log)).toThrow(/--state-store and --usage-store \(its former name\) name different stores/);
    const idle = await parseServe(['--idempotency-window', '0']);
    expect(runtimeConfigFrom(idle.options!, log).engine?.idempotencyWindowSeconds).toBe(0);
    expect((await parseServe(['--idempotency-window', '2h'])).options?.idempotencyWindow).toBe(7200);
    expect((await parseServe(['--idempotency-window', 'soon'])).error?.message).toMatch(/--idempotency-window/);
  });

  it('--ledger-thread (or ledger-thread: true) turns the writer thread on; without it the ledger config says (off)', async () => {
    const log = pino({ level: 'silent' });
    const thread = async (args: string[]) => runtimeConfigFrom((await parseServe(args)).options!, log).ledgerOptions?.thread;
    expect(await thread([])).toBeUndefined();
    expect(await thread(['--ledger-thread'])).toBe(true);
    expect(await thread(['--config', configFile('ledger-thread: true\n')])).toBe(true);
    expect(await thread(['--config', configFile('ledger-thread: false\n')])).toBeUndefined();
  });

  it('--peer-key: the key text, or a file holding it (repeatable), reaches the shared store as key text', async () => {
    const log = pino({ level: 'silent' });
    const pg = 'postgres://gavel@127.0.0.1:5432/gavel';
    const text = 'gavel.ledger/peer-b+0a1b2c3d+AQ==';
    const file = join(tempDir(), 'peer-c.pub');
    writeFileSync(file, 'gavel.ledger/peer-c+01020304+AQ==\n');
    const { options } = await parseServe(['--state-store', pg, '--peer-key', text, '--peer-key', file]);
    expect(runtimeConfigFrom(options!, log).usageStore?.peerKeys).toEqual([text, 'gavel.ledger/peer-c+01020304+AQ==']);
  });

  it('gavel.example.yaml is a valid config file', () => {
    const { problems, values } = readConfigFile(join(ROOT, 'gavel.example.yaml'), serveCommand(new Command('gavel')));
    expect(problems).toEqual([]);
    expect(values.length).toBeGreaterThan(10);
  });
});

/** `gavel serve ARGS` with nothing added (startChild adds --listen): resolves with its "gavel serving" line. */
function serveOnly(args: string[]): Promise<{ line: Record<string, unknown>; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [GAVEL_BIN, 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    void exited.then((code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('"gavel serving"')) resolve({ line: JSON.parse(line) as Record<string, unknown>, stop });
    });
  });
}

describe('gavel serve --config and gavel config check, end to end', () => {
  it('serves what the file says, on the port it names', async () => {
    const dir = tempDir();
    const file = configFile(`listen: 127.0.0.1:0\nbundles: ${BUNDLES}\nledger: ${join(dir, 'l.db')}\nworkers: 0\ndurability: full\nmetering: false\n`);
    const srv = await serveOnly(['--config', file]);
    try {
      expect(srv.line).toMatchObject({ ledger: join(dir, 'l.db'), durability: 'full', workers: 0, metering: false });
      const health = healthClient(`127.0.0.1:${srv.line.port as number}`);
      expect(await health.check()).toBe('SERVING');
      health.close();
    } finally {
      await srv.stop();
    }
  });

  it('a flag overrides the file', async () => {
    const dir = tempDir();
    const file = configFile(`bundles: ${BUNDLES}\nledger: ${join(dir, 'from-file.db')}\nworkers: 0\n`);
    const srv = await startChild(['--config', file, '--ledger', join(dir, 'from-flag.db')]);
    try {
      expect(servingLine(srv)).toMatchObject({ ledger: join(dir, 'from-flag.db'), workers: 0 });
    } finally {
      srv.child.kill('SIGTERM');
      await srv.exited;
    }
  });

  it('gavel config check: "ok" and exit 0 on a good file (the example among them); exit 2 naming each key on a bad one', async () => {
    const good = await runCli(['config', 'check', 'gavel.example.yaml']);
    expect(good).toMatchObject({ code: 0, stdout: 'ok\n' });
    const bad = configFile('workers: 999\nlisten: nowhere\n');
    const refused = await runCli(['config', 'check', bad]);
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stdout).toBe(
      `${bad}:1: workers: "999" is invalid: must be an integer from 0 to ${MAX_WORKERS}\n` +
        `${bad}:2: listen: "nowhere" is invalid: must be host:port, e.g. 127.0.0.1:50051\n`,
    );
    const json = await runCli(['config', 'check', '--json', bad]);
    expect(json.code).toBe(EXIT.usage);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      problems: [
        { key: 'workers', line: 1 },
        { key: 'listen', line: 2 },
      ],
    });
    // A bad file refuses `gavel serve` the same way, before anything is opened.
    const serve = await runCli(['serve', '--config', bad]);
    expect(serve.code).toBe(EXIT.usage);
    expect(serve.stderr).toContain(`error: ${bad}:1: workers:`);
    expect(serve.stderr).toContain(`error: ${bad}:2: listen:`);
  });
});
