import type { Bundle } from '../bundles/bundle.js';
import { BundleFolderWatcher } from '../bundles/folder-watcher.js';
import type { BundleVerification } from '../bundles/verification-keys.js';
import type { Core } from '../core.js';
import type { PolicyEvent } from '../engine/policy-event.js';
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
  const source = `folder:${o.path}`;
  const record = (event: Omit<PolicyEvent, 'source'>) => {
    server.metrics.bundleActivations.inc({ bundle: event.bundle, result: event.result });
    core.engine
      .recordPolicyEvent({ ...event, source })
      .catch((err: unknown) =>
        log.error({ err: errorMessage(err), bundle: event.bundle, result: event.result }, 'policy event could not be recorded in the ledger'),
      );
  };
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
        const reason = errorMessage(err);
        for (const b of activated) record({ result: 'refused', bundle: b.name, revision: b.revision, digest: b.digest, reason });
        log.error({ err: reason, bundles: activated.map((b) => b.name) }, 'bundle set refused; the active set keeps serving');
        return;
      }
      for (const b of activated) {
        record({ result: 'activated', ...described(b) });
        log.info({ bundle: b.name, revision: b.revision, digest: b.digest, signer: b.signer, entrypoints: b.entrypoints }, 'bundle activated');
      }
      for (const b of deactivated) {
        record({ result: 'deactivated', ...described(b), reason: 'its file left the bundles folder' });
        log.warn({ bundle: b.name, revision: b.revision, digest: b.digest }, 'bundle deactivated; its entrypoints answer unknown_entrypoint');
      }
      server.refreshHealth();
    },
    onRefused: (err, files) => {
      const reason = errorMessage(err);
      const names = files.map((f) => f.slice(f.lastIndexOf('/') + 1).replace(/\.tar\.gz$|\.tgz$/, ''));
      for (const name of names.length > 0 ? names : ['(folder)']) record({ result: 'refused', bundle: name, reason });
      log.error({ err: reason }, 'bundle set refused; the active set keeps serving');
    },
  });
  watcher.start();
  return watcher;
}

/** A bundle as a policy event describes it. */
export function described(b: Bundle): Omit<PolicyEvent, 'result' | 'source'> {
  return { bundle: b.name, revision: b.revision, digest: b.digest, entrypoints: b.entrypoints, ...(b.signer ? { signer: b.signer } : {}) };
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
