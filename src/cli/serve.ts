import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { useBundleLimits } from '../bundles/limits.js';
import { errorMessage } from '../lib/errors.js';
import { createLogger, type Logger, LogSink } from '../log.js';
import { type Runtime, startRuntime } from '../runtime.js';
import { DEFAULT_EXT_AUTHZ_CONFIG, type ExtAuthzConfig, parseExtAuthzConfig } from '../transport/envoy/ext-authz-config.js';
import { type RunningServer, startServer } from '../transport/server.js';
import type { TlsFiles } from '../transport/security/tls-files.js';
import { bundleLimitsFrom } from './bundle-limit-options.js';
import { EXIT } from './exit.js';
import { runtimeConfigFrom } from './serve-config.js';
import { bundleUrlOption, serveCommand, type ServeOptions } from './serve-flags.js';
import { SecurityUsageError, serverSecurity } from './serve-security.js';
import { bundlesFolder } from './shipped-bundles.js';
import { consoleOptionsOf, decisionLogOf } from './serve-edges.js';

export function registerServe(program: Command): void {
  serveCommand(program).action(serve);
}

/** Flags → the runtime's config → startRuntime → startServer → signals. */
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
  const bundles = bundlesFolder(o.bundles, command.getOptionValueSource('bundles'));
  if (bundles.shipped)
    log.warn({ bundles: bundles.folder }, 'no ./bundles here and none named (--bundles, GAVEL_BUNDLES): serving the reference bundles gavel ships');
  const config = runtimeConfigFrom({ ...o, bundles: bundles.folder }, log);
  const extAuthz = extAuthzConfigFrom(o.extAuthzConfig, command);
  const runtime = await startRuntime(config);
  const server = await startServer(runtime, {
    listen: o.listen,
    log,
    security,
    ...(o.metricsListen ? { metricsListen: o.metricsListen } : {}),
    extAuthz: o.extAuthz && extAuthz,
    ...(o.extAuthz && o.extAuthzListen ? { extAuthzListen: o.extAuthzListen } : {}),
    ...(o.consoleListen ? { console: consoleOptionsOf(o.consoleListen, o.ledger, o.consoleSessionMinutes) } : {}),
    ...(o.decisionLogUrl ? { decisionLog: decisionLogOf(o) } : {}),
  });
  const tls = security.tls;
  if (tls) reloadTls(tls, log);
  // Before the start-up line: whoever waits for it may signal at once.
  const stop = stopper(o, runtime, server, tls, log, sink);
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  log.info(
    {
      listen: server.address,
      port: server.port,
      bundles: runtime.policies.bundles.map((b) => ({ name: b.name, revision: b.revision, digest: b.digest, entrypoints: b.entrypoints, signer: b.signer })),
      shadow_bundles: runtime.policies.shadow?.bundles.map((b) => ({ name: b.name, revision: b.revision, digest: b.digest })) ?? 'off',
      bundle_verification: config.delivery?.verification ? [...config.delivery.verification.keys.keys()] : 'off',
      watch_bundles: o.watchBundles,
      ext_authz: !o.extAuthz ? 'off' : server.extAuthzPort !== undefined ? { also_on_port: server.extAuthzPort } : 'on the main listener',
      ledger: o.ledger,
      durability: o.durability,
      ledger_thread: runtime.stats.ledgerThread,
      workers: runtime.stats.workers,
      inline_max_bytes: runtime.stats.inlineMaxBytes,
      metering: o.metering,
      ledger_size: runtime.audit.size,
      metrics_port: server.metricsPort,
      console: server.console?.url ?? 'off',
      decision_log: o.decisionLogUrl ? { url: o.decisionLogUrl, from_seq: server.decisionLog?.acknowledged } : 'off',
      tls: tls ? (tls.mutual ? 'mutual' : 'server') : 'off',
      access: o.access ?? security.policy.label,
    },
    'gavel serving',
  );
}

/** New certificates are picked up when the files change, or on SIGHUP; unusable ones keep the previous. */
function reloadTls(tls: TlsFiles, log: Logger): void {
  const reloadFailed = (err: unknown) => log.error({ err: errorMessage(err) }, 'TLS files changed but are not usable; still serving the previous certificate');
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

/** The ordered shutdown on SIGTERM/SIGINT, bounded by --shutdown-timeout whatever hangs. */
function stopper(o: ServeOptions, runtime: Runtime, server: RunningServer, tls: TlsFiles | undefined, log: Logger, sink: LogSink) {
  let stopping = false;
  return async (signal: string) => {
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
      await server.shutdown(Math.max(1, timeoutMs - 1000));
      tls?.close();
      stage = 'signing the final checkpoint and closing the ledger';
      await runtime.stop();
      log.info({ ledger_size: runtime.audit.size }, 'stopped');
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      code = EXIT.failed;
    }
    stage = 'writing the last log lines';
    await sink.flushed();
    process.exit(code);
  };
}

/** --ext-authz-config read and checked before anything starts: a bad file stops the start (exit 2), naming every problem. */
function extAuthzConfigFrom(file: string | undefined, command: Command): ExtAuthzConfig {
  if (file === undefined) return DEFAULT_EXT_AUTHZ_CONFIG;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return command.error(`error: --ext-authz-config ${file} cannot be read: ${errorMessage(err)}`, { exitCode: EXIT.usage });
  }
  try {
    return parseExtAuthzConfig(text, `--ext-authz-config ${file}`);
  } catch (err) {
    return command.error(`error: ${errorMessage(err)}`, { exitCode: EXIT.usage });
  }
}
