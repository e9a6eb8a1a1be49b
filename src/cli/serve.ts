import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { bundleUrlOption, serveCommand, type ServeOptions } from './serve-flags.js';
import type { Bundle } from '../bundles/bundle.js';
import { folderFingerprint } from '../bundles/folder-watcher.js';
import { BundleUrlSource } from '../bundles/http-source.js';
import { checkBundleSet, loadVerifiedBundles } from '../bundles/loader.js';
import { bundleVerification, type BundleVerification, type KeySpec } from '../bundles/verification-keys.js';
import { useBundleLimits } from '../bundles/limits.js';
import { bundleLimitsFrom } from './bundle-limit-options.js';
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
import type { ApprovalsConfig } from '../engine/approvals/config.js';
import { workerCount, WORKERS_RANGE } from './options.js';

export function registerServe(program: Command): void {
  serveCommand(program).action(serve);
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
