import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import type { Bundle } from '../bundles/bundle.js';
import { folderFingerprint } from '../bundles/folder-watcher.js';
import { BundleUrlSource } from '../bundles/http-source.js';
import { checkBundleSet, loadVerifiedBundles } from '../bundles/loader.js';
import { bundleVerification, type BundleVerification, type KeySpec } from '../bundles/verification-keys.js';
import { useBundleLimits } from '../bundles/limits.js';
import { bundleLimitOption, bundleLimitsFrom, type BundleLimitFlags } from './bundle-limit-options.js';
import { buildCore } from '../core.js';
import { mismatchSummary } from '../state/check.js';
import { reconcileShared } from '../state/shared.js';
import { described, LiveBundles } from './bundle-activation.js';
import { ShadowBundles } from './shadow-activation.js';
import { createLogger, LogSink, type Logger } from '../log.js';
import type { SqliteLedger } from '../ledger/sqlite.js';
import { readLedgerId } from '../ledger/meta.js';
import { PostgresUsageStore } from '../usage/postgres/store.js';
import { postgresUsageConfig, redactUrl } from '../usage/postgres/config.js';
import { usageConfig } from '../usage/config.js';
import { EXIT } from './exit.js';
import { errorMessage, GavelError } from '../lib/errors.js';
import { startServer } from '../transport/server.js';
import { SecurityUsageError, serverSecurity } from './serve-security.js';
import { DEFAULTS } from './settings.js';
import { parseExpiresIn, type ApprovalsConfig } from '../engine/approvals/config.js';
import { addressOption, collect, intOption, nonNegativeIntOption, workerCount, WORKERS_RANGE, workersOption } from './options.js';

interface ServeOptions extends BundleLimitFlags {
  listen: string;
  bundles: string;
  ledger: string;
  durability: 'normal' | 'full';
  timeZone: string;
  rebuildUsageTimeZone?: boolean;
  maxInputBytes?: number;
  maxDepth?: number;
  checkpointEvery?: number;
  checkpointSeconds?: number;
  reservationTtl?: number;
  metricsListen?: string;
  key?: string;
  newLedger?: boolean;
  rebuildState?: boolean;
  sharedStateCheckSeconds: number;
  shutdownTimeout: number;
  /** A string when it came from GAVEL_WORKERS (commander parses only the flag). */
  workers: number | string;
  evaluationTimeout?: number;
  inlineMaxBytes?: number;
  metering: boolean;
  usageStore?: string;
  usageStorePool?: number;
  usageStoreTimeout?: number;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  access?: string;
  insecure?: boolean;
  bundleVerificationKey: string[];
  bundleVerificationKeyId: string[];
  bundleVerificationAlg: string[];
  bundleVerificationScope?: string;
  watchBundles: boolean;
  bundleUrl: string[];
  bundlePollSeconds: number;
  bundleTokenFile?: string;
  bundleCache?: string;
  shadowBundles?: string;
  shadowBundleUrl: string[];
  shadowQueue?: number;
  approvalApprovers?: string[];
  approvalExpires?: number;
  approvalMaxExpires?: number;
  approvalSweepSeconds?: number;
}

/** A duration flag such as 90s, 30m, 4h, 2d, as seconds. */
function durationOption(value: string): number {
  const seconds = parseExpiresIn(value);
  if (seconds === undefined) throw new InvalidArgumentError('must be a duration such as 90s, 30m, 4h or 2d');
  return seconds;
}

/** At most a day: a timer past 2^31 ms would fire at once, again and again. */
function checkSecondsOption(value: string): number {
  const n = intOption(value);
  if (n > 86_400) throw new InvalidArgumentError('must be at most 86400 (a day)');
  return n;
}

function bundleUrlOption(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`must be an http:// or https:// URL, not ${url.protocol}`);
  return value;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve Decide, Audit and Usage over gRPC')
    .option('--listen <host:port>', 'address to listen on (env GAVEL_LISTEN)', addressOption, DEFAULTS.listen)
    .option('--bundles <dir>', 'folder of OPA bundles (env GAVEL_BUNDLES)', DEFAULTS.bundles)
    .option('--ledger <file>', 'SQLite ledger and usage state (env GAVEL_LEDGER)', DEFAULTS.ledger)
    .option('--durability <mode>', 'normal (survives a killed process) or full (survives power loss) (env GAVEL_DURABILITY)', DEFAULTS.durability)
    .option('--time-zone <iana>', 'time zone of calendar usage windows (env GAVEL_TIME_ZONE)', DEFAULTS.timeZone)
    .option(
      '--rebuild-usage-time-zone',
      "the ledger file's usage was kept by day in another --time-zone: re-bucket it in this one (without it, such a start is refused)",
    )
    .option('--max-input-bytes <n>', 'largest accepted input (default 1 MiB)', intOption)
    .option('--max-depth <n>', 'deepest accepted input nesting (default 64)', intOption)
    .option('--checkpoint-every <n>', 'sign a checkpoint every n entries (default 1000)', intOption)
    .option('--checkpoint-seconds <n>', '... or every n seconds (default 10)', intOption)
    .option('--reservation-ttl <seconds>', 'unreported reservations expire after this (default 600)', intOption)
    .option(
      '--metrics-listen <host:port>',
      'serve Prometheus metrics at http://host:port/metrics (env GAVEL_METRICS_LISTEN)',
      addressOption,
      process.env.GAVEL_METRICS_LISTEN,
    )
    .option('--key <file>', 'Ed25519 checkpoint signing key, PKCS#8 PEM; created if absent (default <ledger>.key, env GAVEL_KEY)', process.env.GAVEL_KEY)
    .option(
      '--rebuild-state',
      'recompute the approval and usage tables from the ledger chain when they disagree with it (recorded as a state entry); without it a disagreement refuses to start (exit 3)',
    )
    .option(
      '--shared-state-check-seconds <s>',
      'with --usage-store: how often the shared usage rows this replica accounts for are checked against its chain (rewritten and recorded when they differ); 1 to 86400',
      checkSecondsOption,
      60,
    )
    .option('--new-ledger', 'a fresh ledger is intended although its signing key exists (otherwise a missing or empty ledger next to a key refuses to start)')
    .option(
      '--workers <n>',
      'evaluation worker threads, one wasm instance each; 0 evaluates on the I/O thread (env GAVEL_WORKERS)',
      workersOption,
      DEFAULTS.workers,
    )
    .option('--evaluation-timeout <ms>', 'a worker stuck on one decision this long is replaced and its decisions refused (default 10000)', intOption)
    .option(
      '--inline-max-bytes <n>',
      'with workers, a decision of at most n input bytes that arrives alone is evaluated on the I/O thread (default 8192; 0: always on a worker)',
      nonNegativeIntOption,
    )
    .option('--no-metering', 'no usage context and no reservations (budgets are not enforced)')
    .option(
      '--usage-store <url>',
      'share usage state with other replicas in PostgreSQL: postgres://USER:PASS@HOST:PORT/DB[?sslmode=verify-full&sslrootcert=FILE] (env GAVEL_USAGE_STORE; default: the ledger file)',
      process.env.GAVEL_USAGE_STORE,
    )
    .option('--usage-store-pool <n>', 'connections to the usage store (default 16)', intOption)
    .option('--usage-store-timeout <ms>', 'deadline of each usage store step; past it Decide fails closed (default 2000)', intOption)
    .option(
      '--tls-cert <file>',
      'serve TLS with this PEM certificate (chain); re-read when it changes or on SIGHUP (env GAVEL_TLS_CERT)',
      process.env.GAVEL_TLS_CERT,
    )
    .option('--tls-key <file>', "the certificate's PEM private key (env GAVEL_TLS_KEY)", process.env.GAVEL_TLS_KEY)
    .option(
      '--client-ca <file>',
      'mutual TLS: clients must present a certificate from this CA, and are identified by it (env GAVEL_CLIENT_CA)',
      process.env.GAVEL_CLIENT_CA,
    )
    .option('--access <file>', 'YAML file granting roles to client-certificate identities; needs --client-ca (env GAVEL_ACCESS)', process.env.GAVEL_ACCESS)
    .option('--insecure', 'allow serving a non-loopback address without TLS')
    .option(
      '--bundle-verification-key <file>',
      'bundles must be signed (OPA .signatures.json) by this PEM public key (or HS secret); repeatable (env GAVEL_BUNDLE_VERIFICATION_KEY)',
      collect,
      process.env.GAVEL_BUNDLE_VERIFICATION_KEY ? [process.env.GAVEL_BUNDLE_VERIFICATION_KEY] : [],
    )
    .option('--bundle-verification-key-id <id>', 'key id of the n-th --bundle-verification-key (default "default")', collect, [])
    .option('--bundle-verification-alg <alg>', 'algorithm of the n-th key: RS256, PS256, ES256, HS256, … (default from the key type)', collect, [])
    .option('--bundle-verification-scope <scope>', 'signatures must carry this scope claim')
    .option('--no-watch-bundles', 'load --bundles once at start instead of activating changes live')
    .option(
      '--bundle-url <url>',
      'also pull a bundle from this HTTP(S) bundle server (ETag polling); repeatable (env GAVEL_BUNDLE_URLS, space-separated)',
      (value: string, previous: string[]) => [...previous, bundleUrlOption(value)],
      (process.env.GAVEL_BUNDLE_URLS ?? '').split(/\s+/).filter(Boolean),
    )
    .option('--bundle-poll-seconds <n>', 'seconds between polls of each bundle URL, with jitter (default 30)', intOption, 30)
    .option('--bundle-token-file <file>', 'bearer token for the bundle server, read from this file')
    .option('--bundle-cache <dir>', 'keep verified copies of URL bundles here; a start while the server is down serves them')
    .addOption(bundleLimitOption('maxBytes'))
    .addOption(bundleLimitOption('maxEntryBytes'))
    .addOption(bundleLimitOption('maxDataBytes'))
    .addOption(bundleLimitOption('maxManifestBytes'))
    .addOption(bundleLimitOption('maxParseHeapBytes'))
    .option(
      '--shadow-bundles <dir>',
      'also evaluate these candidate bundles on live traffic after each answer, deciding nothing (env GAVEL_SHADOW_BUNDLES); watched like --bundles',
      process.env.GAVEL_SHADOW_BUNDLES,
    )
    .option(
      '--shadow-bundle-url <url>',
      'a shadow bundle from an HTTP(S) bundle server; repeatable (env GAVEL_SHADOW_BUNDLE_URLS, space-separated)',
      (value: string, previous: string[]) => [...previous, bundleUrlOption(value)],
      (process.env.GAVEL_SHADOW_BUNDLE_URLS ?? '').split(/\s+/).filter(Boolean),
    )
    .option('--shadow-queue <n>', 'shadow evaluations waiting at once; past it they are dropped and counted (default 64)', intOption)
    .option(
      '--approval-approvers <name>',
      'who may approve when the policy names no one: role:<role> or user:<id> (repeatable; default role:approver)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--approval-expires <duration>', 'how long an approval request stays open when the policy says nothing (default 4h)', durationOption)
    .option('--approval-max-expires <duration>', "the longest a policy's expires_in may keep a request open (default 30d)", durationOption)
    .option('--approval-sweep-seconds <n>', 'how often requests past their expiry are expired (default 30)', intOption)
    .option('--shutdown-timeout <seconds>', 'on SIGTERM/SIGINT, exit non-zero if draining, the final checkpoint and logs take longer than this', intOption, 10)
    .addHelpText('after', '\nExample:\n  gavel serve --listen 127.0.0.1:50051 --bundles ./bundles --ledger ./data/ledger.db')
    .action(serve);
}

async function serve(o: ServeOptions, command: Command): Promise<void> {
  let secured: ReturnType<typeof serverSecurity>;
  try {
    secured = serverSecurity(o);
  } catch (err) {
    if (err instanceof SecurityUsageError) command.error(`error: ${err.message}`, { exitCode: EXIT.usage });
    throw err;
  }
  const { security, warnings } = secured;
  // Flag values are checked as they are parsed; GAVEL_BUNDLE_URLS arrives as text.
  for (const [urls, env] of [
    [o.bundleUrl, 'GAVEL_BUNDLE_URLS'],
    [o.shadowBundleUrl, 'GAVEL_SHADOW_BUNDLE_URLS'],
  ] as const) {
    for (const url of urls) {
      try {
        bundleUrlOption(url);
      } catch (err) {
        command.error(`error: bundle URL ${JSON.stringify(url)} (${env}) ${errorMessage(err)}`, { exitCode: EXIT.usage });
      }
    }
  }
  const sink = new LogSink(1);
  const log = createLogger(undefined, sink);
  for (const w of warnings) log.warn(w);
  // Every bundle this server reads (folder, URLs, shadow, Replay candidates) is bounded by these.
  useBundleLimits(bundleLimitsFrom(o));
  const verification = verificationFrom(o);
  // Verified before anything is built: a bundle that fails verification at start fails closed (exit 3).
  // Taken before loading: a change while gavel starts (a revoked bundle removed, say) is applied as soon as it serves.
  const baseline = folderFingerprint(o.bundles);
  const folder = await loadVerifiedBundles(o.bundles, verification, { allowEmpty: o.bundleUrl.length > 0 });
  const token = o.bundleTokenFile ? readToken(o.bundleTokenFile) : undefined;
  const urlSource = (url: string) =>
    new BundleUrlSource({
      url,
      ...(verification ? { verification } : {}),
      pollSeconds: o.bundlePollSeconds,
      ...(token ? { token } : {}),
      ...(o.bundleCache ? { cacheDir: o.bundleCache } : {}),
    });
  const firstBundles = async (list: BundleUrlSource[]) => {
    const fetched: Array<{ url: string; bundle: Bundle }> = [];
    for (const source of list) {
      // Unreachable or unverifiable at start: the cached verified copy serves, else gavel does not start.
      const first = await source.first();
      if (first.fromCache) log.error({ url: source.url, err: errorMessage(first.error) }, 'bundle server unusable at start; serving the cached verified copy');
      fetched.push({ url: source.url, bundle: first.bundle });
    }
    return fetched;
  };
  const sources = o.bundleUrl.map(urlSource);
  const remote = await firstBundles(sources);
  // Shadow bundles are verified like live ones: the server runs only code it would trust to decide.
  const shadowOn = o.shadowBundles !== undefined || o.shadowBundleUrl.length > 0;
  const shadowBaseline = o.shadowBundles ? folderFingerprint(o.shadowBundles) : '';
  const shadowFolder = o.shadowBundles ? await loadVerifiedBundles(o.shadowBundles, verification, { allowEmpty: true }) : [];
  const shadowSources = o.shadowBundleUrl.map(urlSource);
  const shadowRemote = await firstBundles(shadowSources);
  const bundles = [...folder, ...remote.map((r) => r.bundle)];
  checkBundleSet(bundles);
  if (!o.metering && o.usageStore) log.warn('--usage-store is not used with --no-metering: nothing is metered');
  if (o.rebuildUsageTimeZone && o.usageStore) log.warn('--rebuild-usage-time-zone is not used with --usage-store: replicas sharing it keep one --time-zone');
  const shared = o.metering && o.usageStore ? await openSharedUsage(o, log) : undefined;
  const core = buildCore({
    bundles,
    ledger: o.ledger,
    ledgerOptions: {
      durability: o.durability,
      checkpointEvery: o.checkpointEvery,
      checkpointSeconds: o.checkpointSeconds,
      ...(o.key ? { keyPath: o.key } : {}),
      newLedger: o.newLedger === true,
    },
    engine: {
      maxInputBytes: o.maxInputBytes,
      maxDepth: o.maxDepth,
      workers: workersFrom(o.workers),
      evaluationTimeoutMs: o.evaluationTimeout,
      inlineMaxBytes: o.inlineMaxBytes,
    },
    usage: o.metering ? { timeZone: o.timeZone, reservationTtlSeconds: o.reservationTtl, rebuildTimeZone: o.rebuildUsageTimeZone === true } : false,
    ...(shared
      ? {
          usageStore: (ledger: SqliteLedger) => {
            shared.attach(readLedgerId(ledger.db));
            return shared;
          },
        }
      : {}),
    ...(shadowOn ? { shadow: o.shadowQueue ? { queue: o.shadowQueue } : {} } : {}),
    approvals: {
      defaultApprovers: o.approvalApprovers,
      defaultExpiresSeconds: o.approvalExpires,
      maxExpiresSeconds: o.approvalMaxExpires,
      sweepSeconds: o.approvalSweepSeconds,
    } as Partial<ApprovalsConfig>,
    logger: log,
    state: {
      rebuild: o.rebuildState === true,
      onRepaired: (r) =>
        log.error(
          { rows: r.mismatches.length, tables: mismatchSummary(r.mismatches) },
          'state tables were written by another program while serving: ignored, rebuilt from the ledger chain and recorded (the state entry names the rows)',
        ),
    },
  });
  if (core.state.baselined) log.warn('usage tables from before usage entries were recorded once in the ledger as the baseline the chain adds up from');
  if (core.state.mismatches.length > 0) {
    log.warn(
      { rows: core.state.mismatches.length, tables: mismatchSummary(core.state.mismatches) },
      '--rebuild-state: state tables rebuilt from the ledger chain (recorded as a state entry)',
    );
  }
  let sharedTimer: NodeJS.Timeout | undefined;
  if (shared) {
    // Reservations this replica made but never recorded (it stopped in between) stop counting before it serves.
    const orphaned = await shared.reconcile((id) => core.ledger.get(id) !== undefined);
    if (orphaned > 0) log.warn({ orphaned }, 'usage store: deleted reservations this ledger never recorded');
    // The shared rows this replica's chain accounts for, and the buckets, as the chain adds them up: before serving, then on a timer.
    const sharedCheck = (mode: 'refuse' | 'rebuild' | 'repair', reason: string) =>
      reconcileShared(shared, core.ledger, {
        ledgerId: readLedgerId(core.ledger.db),
        timeZone: shared.config.timeZone,
        rollingMinutes: shared.config.rollingMinutes,
        nowMs: Date.now(),
        mode,
        reason,
      });
    const rebuilt = await sharedCheck(o.rebuildState === true ? 'rebuild' : 'refuse', 'started with --rebuild-state');
    if (rebuilt.length > 0)
      log.warn(
        { rows: rebuilt.length, tables: mismatchSummary(rebuilt) },
        '--rebuild-state: shared usage rows rewritten from the ledger chain (recorded as a state entry)',
      );
    sharedTimer = setInterval(() => {
      sharedCheck('repair', 'shared usage rows were changed by another program while gavel served')
        .then((repaired) => {
          if (repaired.length > 0) {
            log.error(
              { rows: repaired.length, tables: mismatchSummary(repaired) },
              'shared usage rows were changed by another program: rewritten from the ledger chain and recorded',
            );
          }
        })
        .catch((err: unknown) => log.error({ err }, 'shared usage state check failed'));
    }, o.sharedStateCheckSeconds * 1000);
    sharedTimer.unref();
  }
  const shadow = core.engine.shadow ? new ShadowBundles(core.engine.shadow, log, { folder: shadowFolder, remote: shadowRemote }) : undefined;
  shadow?.activate();
  // Workers started before the port opens: the first calls pay no start-up, and a worker that cannot start fails here.
  await core.engine.ready();
  // The ledger says which policy went live when: the set this process starts with, then every change.
  // Bundles live when the ledger was last written but not in this start's set went out while gavel was down.
  for (const was of core.ledger.policyStatus().active) {
    if (!bundles.some((b) => b.name === was.bundle)) {
      await core.engine.recordPolicyEvent({
        result: 'deactivated',
        bundle: was.bundle,
        revision: was.revision,
        digest: was.digest,
        source: was.source,
        reason: 'not in the set this server started with',
      });
    }
  }
  const sourceOf = (b: Bundle) => remote.find((r) => r.bundle === b)?.url ?? `folder:${o.bundles}`;
  for (const b of core.engine.policies.bundles) await core.engine.recordPolicyEvent({ result: 'activated', ...described(b), source: sourceOf(b) });
  const server = await startServer(core, {
    listen: o.listen,
    log,
    security,
    ...(o.metricsListen ? { metricsListen: o.metricsListen } : {}),
    // A PolicyService.Replay candidate runs on this server: it must verify as a live bundle would.
    ...(verification ? { bundleVerification: verification } : {}),
  });
  const tls = security.tls;
  if (tls) {
    const reloadFailed = (err: unknown) =>
      log.error({ err: errorMessage(err) }, 'TLS files changed but are not usable; still serving the previous certificate');
    tls.watch(reloadFailed);
    tls.onChange(() => log.info('TLS certificate reloaded; new connections use it'));
    process.on('SIGHUP', () => {
      try {
        if (!tls.reload()) log.info('SIGHUP: TLS files unchanged');
      } catch (err) {
        reloadFailed(err);
      }
    });
  }
  const active = core.engine.policies.bundles.map((b) => ({
    name: b.name,
    revision: b.revision,
    digest: b.digest,
    entrypoints: b.entrypoints,
    signer: b.signer,
  }));
  const live = new LiveBundles(core, server, log, { folder, folderPath: o.bundles, remote });
  if (o.watchBundles) live.watchFolder({ path: o.bundles, baseline, ...(verification ? { verification } : {}) });
  for (const source of sources) live.adopt(source);
  if (shadow && o.shadowBundles && o.watchBundles) {
    shadow.watchFolder({ path: o.shadowBundles, baseline: shadowBaseline, ...(verification ? { verification } : {}) });
  }
  for (const source of shadowSources) shadow?.adopt(source);
  // Before the start-up line: whoever waits for it may signal at once.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const timeoutMs = o.shutdownTimeout * 1000;
    let stage = 'finishing in-flight calls';
    // The bound holds whatever hangs: a stuck call, a slow disk, a log reader that stopped reading.
    setTimeout(() => {
      log.error({ signal, unfinished: stage, timeout_seconds: o.shutdownTimeout }, 'shutdown timed out; exiting without finishing');
      process.stderr.write(`gavel: shutdown timed out after ${o.shutdownTimeout}s while ${stage}\n`);
      process.exit(EXIT.failed);
    }, timeoutMs);
    log.info({ signal }, 'shutting down: finishing in-flight calls');
    let code: number = EXIT.ok;
    try {
      live.stop();
      shadow?.stop();
      clearInterval(sharedTimer);
      await server.shutdown(Math.max(1, timeoutMs - 1000));
      tls?.close();
      stage = 'signing the final checkpoint and closing the ledger';
      await core.close();
      log.info({ ledger_size: core.ledger.size }, 'stopped');
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      code = EXIT.failed;
    }
    stage = 'writing the last log lines';
    await sink.flushed();
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  log.info(
    {
      listen: server.address,
      port: server.port,
      bundles: active,
      shadow_bundles: shadow?.all.map((b) => ({ name: b.name, revision: b.revision, digest: b.digest })) ?? 'off',
      bundle_verification: verification ? [...verification.keys.keys()] : 'off',
      watch_bundles: o.watchBundles,
      ledger: o.ledger,
      durability: o.durability,
      workers: core.engine.workers,
      inline_max_bytes: core.engine.inlineMaxBytes,
      metering: o.metering,
      ledger_size: core.ledger.size,
      metrics_port: server.metricsPort,
      tls: tls ? (tls.mutual ? 'mutual' : 'server') : 'off',
      access: o.access ?? security.policy.label,
    },
    'gavel serving',
  );
}

function readToken(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new GavelError('config_invalid', `--bundle-token-file ${file} cannot be read: ${(err as Error).message}`);
  }
}

function verificationFrom(o: ServeOptions): BundleVerification | undefined {
  if (o.bundleVerificationKey.length === 0) {
    if (o.bundleVerificationKeyId.length > 0 || o.bundleVerificationAlg.length > 0 || o.bundleVerificationScope !== undefined) {
      throw new GavelError('config_invalid', '--bundle-verification-key-id, -alg and -scope need --bundle-verification-key');
    }
    return undefined;
  }
  if (o.bundleVerificationKeyId.length > o.bundleVerificationKey.length || o.bundleVerificationAlg.length > o.bundleVerificationKey.length) {
    throw new GavelError('config_invalid', 'more --bundle-verification-key-id or -alg values than --bundle-verification-key files');
  }
  const specs: KeySpec[] = o.bundleVerificationKey.map((file, i) => ({
    file,
    ...(o.bundleVerificationKeyId[i] ? { id: o.bundleVerificationKeyId[i] } : {}),
    ...(o.bundleVerificationAlg[i] ? { algorithm: o.bundleVerificationAlg[i] } : {}),
  }));
  return bundleVerification(specs, o.bundleVerificationScope);
}

/** The flag arrives parsed; GAVEL_WORKERS arrives as text and is checked here, by name. */
function workersFrom(value: number | string): number {
  if (typeof value === 'number') return value;
  const n = workerCount(value);
  if (n === undefined) throw new GavelError('config_invalid', `GAVEL_WORKERS must be ${WORKERS_RANGE}, got ${JSON.stringify(value)}`);
  return n;
}

/** The shared store, migrated and checked before anything else is built; unreachable at start: gavel does not start. */
async function openSharedUsage(o: ServeOptions, log: Logger): Promise<PostgresUsageStore> {
  const pgConfig = postgresUsageConfig(o.usageStore!, { poolSize: o.usageStorePool, timeoutMs: o.usageStoreTimeout });
  const { store, migration } = await PostgresUsageStore.open(pgConfig, usageConfig({ timeZone: o.timeZone, reservationTtlSeconds: o.reservationTtl }));
  log.info(
    { usage_store: redactUrl(pgConfig.url), schema_version: migration.to, migrated: migration.applied },
    migration.applied.length > 0 ? 'usage store migrated' : 'usage store ready',
  );
  return store;
}
