import type { Bundle } from '../bundles/bundle.js';
import { BundleFolderWatcher } from '../bundles/folder-watcher.js';
import type { BundleVerification } from '../bundles/verification-keys.js';
import type { Core } from '../core.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../log.js';
import type { RunningServer } from '../transport/server.js';

export interface LiveBundlesOptions {
  path: string;
  verification?: BundleVerification;
  intervalMs?: number;
}

/**
 * Live activation from the bundles folder: each new set the watcher hands over
 * is activated whole (the engine compiles every bundle first and swaps in one
 * step; workers load the new modules in message order), or refused whole with
 * the active set still serving. Every change is logged and counted per bundle.
 */
export function watchBundles(core: Core, server: RunningServer, log: Logger, o: LiveBundlesOptions): BundleFolderWatcher {
  const count = (bundle: string, result: 'activated' | 'deactivated' | 'refused') => server.metrics.bundleActivations.inc({ bundle, result });
  const watcher = new BundleFolderWatcher({
    path: o.path,
    ...(o.verification ? { verification: o.verification } : {}),
    ...(o.intervalMs ? { intervalMs: o.intervalMs } : {}),
    onSet: (next) => {
      const before = core.engine.policies.bundles;
      const { activated, deactivated } = changes(before, next);
      if (activated.length === 0 && deactivated.length === 0) return;
      try {
        core.engine.activate(next);
      } catch (err) {
        for (const b of activated) count(b.name, 'refused');
        log.error({ err: errorMessage(err), bundles: activated.map((b) => b.name) }, 'bundle set refused; the active set keeps serving');
        return;
      }
      for (const b of activated) {
        count(b.name, 'activated');
        log.info({ bundle: b.name, revision: b.revision, digest: b.digest, signer: b.signer, entrypoints: b.entrypoints }, 'bundle activated');
      }
      for (const b of deactivated) {
        count(b.name, 'deactivated');
        log.warn({ bundle: b.name, revision: b.revision, digest: b.digest }, 'bundle deactivated; its entrypoints answer unknown_entrypoint');
      }
      server.refreshHealth();
    },
    onRefused: (err, files) => {
      const names = files.map((f) => f.slice(f.lastIndexOf('/') + 1).replace(/\.tar\.gz$|\.tgz$/, ''));
      for (const name of names.length > 0 ? names : ['(folder)']) count(name, 'refused');
      log.error({ err: errorMessage(err) }, 'bundle set refused; the active set keeps serving');
    },
  });
  watcher.start();
  return watcher;
}

/** Bundles new or changed (by digest) in `next`, and those of `before` that `next` no longer has. */
function changes(before: readonly Bundle[], next: readonly Bundle[]): { activated: Bundle[]; deactivated: Bundle[] } {
  const old = new Map(before.map((b) => [b.name, b.digest]));
  const names = new Set(next.map((b) => b.name));
  return {
    activated: next.filter((b) => old.get(b.name) !== b.digest),
    deactivated: before.filter((b) => !names.has(b.name)),
  };
}
