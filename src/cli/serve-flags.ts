import { type Command, InvalidArgumentError } from 'commander';
import { parseExpiresIn } from '../engine/approvals/config.js';
import { bundleLimitOption, type BundleLimitFlags } from './bundle-limit-options.js';
import { applyConfigFile } from './config-file.js';
import { addressOption, collect, intOption, nonNegativeIntOption, workersOption } from './options.js';
import { DEFAULTS } from './settings.js';

export interface ServeOptions extends BundleLimitFlags {
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
  extAuthz: boolean;
  extAuthzConfig?: string;
  extAuthzListen?: string;
  consoleListen?: string;
  consoleSessionMinutes?: number;
  decisionLogUrl?: string;
  decisionLogCursor?: string;
  decisionLogBatch?: number;
  key?: string;
  newLedger?: boolean;
  ledgerThread?: boolean;
  rebuildState?: boolean;
  sharedStateCheckSeconds: number;
  shutdownTimeout: number;
  /** A string when it came from GAVEL_WORKERS (commander parses only the flag). */
  workers: number | string;
  evaluationTimeout?: number;
  inlineMaxBytes?: number;
  workerYoungGenerationMb?: number;
  /** Seconds; a string when it came from GAVEL_IDEMPOTENCY_WINDOW. */
  idempotencyWindow?: number | string;
  metering: boolean;
  usageStore?: string;
  peerKey?: string[];
  stateStore?: string;
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
  witness: string[];
  witnessKey: string[];
  retainPayloads?: number;
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
  config?: string;
}

/** A duration flag such as 90s, 30m, 4h, 2d, as seconds. */
function durationOption(value: string): number {
  const seconds = parseExpiresIn(value);
  if (seconds === undefined) throw new InvalidArgumentError('must be a duration such as 90s, 30m, 4h or 2d');
  return seconds;
}

/** A duration, or 0 (off). */
export function durationOrOffOption(value: string): number {
  return value.trim() === '0' ? 0 : durationOption(value);
}

/** At most a day: a timer past 2^31 ms would fire at once, again and again. */
function checkSecondsOption(value: string): number {
  const n = intOption(value);
  if (n > 86_400) throw new InvalidArgumentError('must be at most 86400 (a day)');
  return n;
}

export function bundleUrlOption(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`must be an http:// or https:// URL, not ${url.protocol}`);
  return value;
}

/** The `gavel serve` command and its flags (env variables as defaults); serve.ts attaches the action. */
export function serveCommand(program: Command): Command {
  return program
    .command('serve')
    .description('serve Decide, Audit and Usage over gRPC')
    .option(
      '--config <file>',
      'YAML file of these flags without "--" (listen: 127.0.0.1:50051, metering: false); flags and env variables override it (env GAVEL_CONFIG)',
      process.env.GAVEL_CONFIG,
    )
    .hook('preAction', applyConfigFile)
    .option('--listen <host:port>', 'address to listen on (env GAVEL_LISTEN)', addressOption, DEFAULTS.listen)
    .option('--bundles <dir>', 'folder of OPA bundles (env GAVEL_BUNDLES)', DEFAULTS.bundles)
    .option('--ledger <file>', 'SQLite ledger and usage state (env GAVEL_LEDGER)', DEFAULTS.ledger)
    .option('--durability <mode>', 'normal (survives a killed process) or full (survives power loss) (env GAVEL_DURABILITY)', DEFAULTS.durability)
    .option(
      '--ledger-thread',
      'write the ledger from a thread of its own: the serving thread sends it records and spends no time in SQLite commits (a lone decision pays the hand-offs)',
    )
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
    .option(
      '--worker-young-generation-mb <n>',
      "each evaluation worker's V8 young generation in MB: smaller holds less memory (default 4; 0: V8's default)",
      nonNegativeIntOption,
    )
    .option(
      '--idempotency-window <duration>',
      'a Decide whose (caller, request_id) was decided this recently gets the recorded answer again (replayed), nothing new recorded or reserved; 0: off (default 24h, env GAVEL_IDEMPOTENCY_WINDOW)',
      durationOrOffOption as (value: string, previous: number | string) => number | string,
      process.env.GAVEL_IDEMPOTENCY_WINDOW,
    )
    .option('--no-metering', 'no usage context and no reservations (budgets are not enforced)')
    .option(
      '--ext-authz-config <file>',
      'Envoy ext_authz: how a CheckRequest maps to the input (YAML, README "Behind Envoy"); default: OpenAI- and Anthropic-style routes, the subject from the mTLS principal or jwt_authn claims (env GAVEL_EXT_AUTHZ_CONFIG)',
      process.env.GAVEL_EXT_AUTHZ_CONFIG,
    )
    .option(
      '--ext-authz-listen <host:port>',
      'also serve Envoy ext_authz alone on this address, with the same TLS and access (env GAVEL_EXT_AUTHZ_LISTEN)',
      addressOption,
      process.env.GAVEL_EXT_AUTHZ_LISTEN,
    )
    .option('--no-ext-authz', 'do not serve Envoy ext_authz (envoy.service.auth.v3.Authorization/Check)')
    .option(
      '--console-listen <host:port>',
      'serve the auditor\'s web console (README "Console"), over HTTPS with the TLS settings; without --access, loopback only (env GAVEL_CONSOLE_LISTEN)',
      addressOption,
      process.env.GAVEL_CONSOLE_LISTEN,
    )
    .option('--console-session-minutes <n>', 'how long a console sign-in lasts (default 480)', intOption)
    .option(
      '--decision-log-url <url>',
      "push every committed entry to this collector as OPA's decision log service API does (gzipped JSON arrays, at least once, seq as the key) (env GAVEL_DECISION_LOG_URL)",
      process.env.GAVEL_DECISION_LOG_URL,
    )
    .option('--decision-log-cursor <file>', 'where the last accepted seq is kept (default <ledger>.decision-log-cursor)')
    .option('--decision-log-batch <n>', 'entries per POST at most (default 500)', intOption)
    .option(
      '--state-store <url>',
      'share state with other replicas in PostgreSQL (budgets, request ids): postgres://USER:PASS@HOST:PORT/DB[?sslmode=verify-full&sslrootcert=FILE] (env GAVEL_STATE_STORE; default: the ledger file)',
      process.env.GAVEL_STATE_STORE,
    )
    .option('--usage-store <url>', 'the former name of --state-store, still accepted (env GAVEL_USAGE_STORE)', process.env.GAVEL_USAGE_STORE)
    .option(
      '--peer-key <key>',
      "with --state-store: another replica's ledger verifier key (`gavel audit pubkey`), text or a file holding it; repeatable. Shared approval rows are honoured only when signed by this replica or a peer (env GAVEL_PEER_KEYS, comma-separated)",
      collect,
      process.env.GAVEL_PEER_KEYS
        ? process.env.GAVEL_PEER_KEYS.split(',')
            .map((k) => k.trim())
            .filter((k) => k !== '')
        : [],
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
    .option(
      '--retain-payloads <duration>',
      'erase the payloads (and shadow results) of entries older than this, e.g. 180d, every hour and at start, each sweep recorded as an erasure entry (basis retention); headers stay (default: kept)',
      durationOption,
    )
    .option(
      '--witness <url>',
      "send each new checkpoint to this witness (C2SP tlog-witness, e.g. `gavel witness serve`) and keep its cosignature; repeatable, each with its --witness-key (env GAVEL_WITNESSES, space-separated). A witness that refuses the ledger's history shows in health (gavel.witness) and the log",
      (value: string, previous: string[]) => [...previous, bundleUrlOption(value)],
      (process.env.GAVEL_WITNESSES ?? '').split(/\s+/).filter(Boolean),
    )
    .option(
      '--witness-key <key|file>',
      "the n-th --witness's cosignature verifier key (`gavel witness pubkey`), text or a file holding it: only cosignatures that verify with it are kept (env GAVEL_WITNESS_KEYS, space-separated)",
      collect,
      (process.env.GAVEL_WITNESS_KEYS ?? '').split(/\s+/).filter(Boolean),
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
    .addHelpText(
      'after',
      '\nExamples:\n  gavel serve --listen 127.0.0.1:50051 --bundles ./bundles --ledger ./data/ledger.db\n  gavel serve --config gavel.yaml --listen 127.0.0.1:50052',
    );
}
