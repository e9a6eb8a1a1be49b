import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { bundleVerification, type BundleVerification, type KeySpec } from '../bundles/verification-keys.js';
import type { ApprovalsConfig } from '../engine/approvals/config.js';
import { GavelError } from '../lib/errors.js';
import type { RuntimeConfig } from '../runtime.js';
import { mismatchSummary } from '../state/check.js';
import { textOrFile, workerCount, WORKERS_RANGE } from './options.js';
import { durationOrOffOption, type ServeOptions } from './serve-flags.js';

/** `gavel serve`'s flags as the runtime's config: the one translation from the command line. */
export function runtimeConfigFrom(o: ServeOptions, log: Logger): RuntimeConfig {
  const verification = verificationFrom(o);
  const token = o.bundleTokenFile ? readToken(o.bundleTokenFile) : undefined;
  const shadowOn = o.shadowBundles !== undefined || o.shadowBundleUrl.length > 0;
  return {
    bundles: { folder: o.bundles, urls: o.bundleUrl, watch: o.watchBundles },
    delivery: {
      ...(verification ? { verification } : {}),
      ...(token ? { token } : {}),
      pollSeconds: o.bundlePollSeconds,
      ...(o.bundleCache ? { cacheDir: o.bundleCache } : {}),
    },
    ...(shadowOn
      ? {
          shadow: {
            ...(o.shadowBundles ? { folder: o.shadowBundles } : {}),
            urls: o.shadowBundleUrl,
            watch: o.watchBundles,
            ...(o.shadowQueue ? { queue: o.shadowQueue } : {}),
          },
        }
      : {}),
    ledger: o.ledger,
    ledgerOptions: {
      durability: o.durability,
      checkpointEvery: o.checkpointEvery,
      checkpointSeconds: o.checkpointSeconds,
      ...(o.key ? { keyPath: o.key } : {}),
      newLedger: o.newLedger === true,
      ...(o.ledgerThread === true ? { thread: true } : {}),
    },
    engine: {
      maxInputBytes: o.maxInputBytes,
      maxDepth: o.maxDepth,
      workers: workersFrom(o.workers),
      evaluationTimeoutMs: o.evaluationTimeout,
      inlineMaxBytes: o.inlineMaxBytes,
      workerYoungGenerationMb: o.workerYoungGenerationMb,
      idempotencyWindowSeconds: windowFrom(o.idempotencyWindow),
    },
    usage: o.metering ? { timeZone: o.timeZone, reservationTtlSeconds: o.reservationTtl, rebuildTimeZone: o.rebuildUsageTimeZone === true } : false,
    ...(stateStoreOf(o)
      ? {
          usageStore: {
            url: stateStoreOf(o)!,
            ...(o.usageStorePool !== undefined ? { poolSize: o.usageStorePool } : {}),
            ...(o.usageStoreTimeout !== undefined ? { timeoutMs: o.usageStoreTimeout } : {}),
            stateCheckSeconds: o.sharedStateCheckSeconds,
            peerKeys: (o.peerKey ?? []).map((k) => textOrFile(k, '--peer-key')),
          },
        }
      : {}),
    approvals: {
      defaultApprovers: o.approvalApprovers,
      defaultExpiresSeconds: o.approvalExpires,
      maxExpiresSeconds: o.approvalMaxExpires,
      sweepSeconds: o.approvalSweepSeconds,
    } as Partial<ApprovalsConfig>,
    ...(o.witness.length > 0 || o.witnessKey.length > 0 ? { witnesses: { witnesses: witnessesOf(o.witness, o.witnessKey) } } : {}),
    ...(o.retainPayloads !== undefined ? { retention: { payloadsSeconds: o.retainPayloads } } : {}),
    logger: log,
    // A server records the set it starts with: the ledger says which policy went live when.
    recordStart: true,
    state: {
      rebuild: o.rebuildState === true,
      onRepaired: (r) =>
        log.error(
          { rows: r.mismatches.length, tables: mismatchSummary(r.mismatches) },
          'state tables were written by another program while serving: ignored, rebuilt from the ledger chain and recorded (the state entry names the rows)',
        ),
    },
  };
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

/** Each --witness with its --witness-key, in order. */
function witnessesOf(urls: string[], keys: string[]): Array<{ url: string; key: string }> {
  if (urls.length !== keys.length) {
    throw new GavelError('config_invalid', `give one --witness-key per --witness, in the same order (${urls.length} witnesses, ${keys.length} keys)`);
  }
  return urls.map((url, i) => ({ url, key: textOrFile(keys[i]!, '--witness-key') }));
}

/** --state-store, or its former name --usage-store; both naming different stores is refused. */
function stateStoreOf(o: Pick<ServeOptions, 'stateStore' | 'usageStore'>): string | undefined {
  if (o.stateStore !== undefined && o.usageStore !== undefined && o.stateStore !== o.usageStore) {
    throw new GavelError('config_invalid', '--state-store and --usage-store (its former name) name different stores: give one');
  }
  return o.stateStore ?? o.usageStore;
}

function windowFrom(value: number | string | undefined): number | undefined {
  if (typeof value !== 'string') return value;
  try {
    return durationOrOffOption(value);
  } catch {
    throw new GavelError('config_invalid', `GAVEL_IDEMPOTENCY_WINDOW must be 0 or a duration such as 30m, 24h or 7d, got ${JSON.stringify(value)}`);
  }
}

/** The flag arrives parsed; GAVEL_WORKERS arrives as text and is checked here, by name. */
function workersFrom(value: number | string): number {
  if (typeof value === 'number') return value;
  const n = workerCount(value);
  if (n === undefined) throw new GavelError('config_invalid', `GAVEL_WORKERS must be ${WORKERS_RANGE}, got ${JSON.stringify(value)}`);
  return n;
}
