import type { Bundle } from '../bundles/bundle.js';
import { folderFingerprint } from '../bundles/folder-watcher.js';
import { BundleUrlSource } from '../bundles/http-source.js';
import { loadVerifiedBundles } from '../bundles/loader.js';
import type { BundleVerification } from '../bundles/verification-keys.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../log.js';

/** Where one bundle set (live or shadow) comes from. */
export interface BundleSourcesConfig {
  /** A folder of *.tar.gz bundles (or one bundle file), or bundles already loaded and verified. */
  folder?: string | Bundle[];
  /** Bundle servers polled for one bundle each (ETag), verified like the folder's. */
  urls?: string[];
  /** Watch the folder and activate its changes live (default false). */
  watch?: boolean;
  /** How often the folder is looked at when watched (default: the watcher's). */
  watchIntervalMs?: number;
}

/** What every source shares: signature verification, the bundle server's token, poll interval and cache. */
export interface DeliveryConfig {
  verification?: BundleVerification;
  token?: string;
  pollSeconds?: number;
  /** One bundle server request's limit (ms). */
  timeoutMs?: number;
  cacheDir?: string;
}

/** A bundle set as loaded at start, with the sources that keep delivering it. */
export interface LoadedSources {
  folder: Bundle[];
  folderPath?: string;
  /** folderFingerprint taken before the folder was loaded: a change while gavel starts is applied once it serves. */
  baseline?: string;
  remote: Array<{ url: string; bundle: Bundle }>;
  sources: BundleUrlSource[];
}

/**
 * Loads a set's start bundles: the folder verified (a bundle that fails verification at start fails
 * closed), then each URL once. A URL unreachable or unverifiable at start serves its cached verified
 * copy, else the start fails. `required`: an empty set is refused.
 */
export async function loadSources(config: BundleSourcesConfig, delivery: DeliveryConfig, log: Logger, required: boolean): Promise<LoadedSources> {
  const urls = config.urls ?? [];
  const folderPath = typeof config.folder === 'string' ? config.folder : undefined;
  // Taken before loading: a change while gavel starts (a revoked bundle removed, say) is applied as soon as it serves.
  const baseline = folderPath !== undefined && config.watch ? folderFingerprint(folderPath) : undefined;
  let folder: Bundle[] = [];
  if (Array.isArray(config.folder)) folder = config.folder;
  else if (folderPath !== undefined) {
    folder = await loadVerifiedBundles(folderPath, delivery.verification, { allowEmpty: !required || urls.length > 0 });
  }
  const sources = urls.map(
    (url) =>
      new BundleUrlSource({
        url,
        ...(delivery.verification ? { verification: delivery.verification } : {}),
        ...(delivery.pollSeconds !== undefined ? { pollSeconds: delivery.pollSeconds } : {}),
        ...(delivery.timeoutMs !== undefined ? { timeoutMs: delivery.timeoutMs } : {}),
        ...(delivery.token ? { token: delivery.token } : {}),
        ...(delivery.cacheDir ? { cacheDir: delivery.cacheDir } : {}),
      }),
  );
  const remote: Array<{ url: string; bundle: Bundle }> = [];
  for (const source of sources) {
    const first = await source.first();
    if (first.fromCache) log.error({ url: source.url, err: errorMessage(first.error) }, 'bundle server unusable at start; serving the cached verified copy');
    remote.push({ url: source.url, bundle: first.bundle });
  }
  return { folder, ...(folderPath !== undefined ? { folderPath } : {}), ...(baseline !== undefined ? { baseline } : {}), remote, sources };
}
