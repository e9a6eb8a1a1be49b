import type { Bundle } from '../bundles/bundle.js';
import { BundleFolderWatcher } from '../bundles/folder-watcher.js';
import { BundleUrlSource, type BundleUrlOptions } from '../bundles/http-source.js';
import { checkBundleSet } from '../bundles/loader.js';
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
  /** folderFingerprint(path) taken before the active set was loaded. */
  baseline?: string;
}

/**
 * The live bundle set: the bundles folder's set plus one bundle per bundle URL.
 * Whenever a source hands over something new, the union is checked
 * (entrypoints unique) and activated whole — the engine compiles every bundle
 * first and swaps in one step; workers load the new modules in message order —
 * or refused whole with the active set still serving. Every change is logged,
 * counted per bundle (gavel_bundle_activations_total) and recorded in the
 * ledger as a policy event with its source.
 */
export class LiveBundles {
  private folder: Bundle[];
  private readonly remote = new Map<string, Bundle>();
  private readonly sourceOf = new Map<string, string>();
  private readonly stops: Array<() => void> = [];
  /** The last refusal recorded per bundle: the same refusal again (a URL that keeps failing) is counted, not recorded again. */
  private readonly lastRefusal = new Map<string, string>();

  constructor(
    private readonly core: Core,
    private readonly server: RunningServer,
    private readonly log: Logger,
    start: { folder: Bundle[]; folderPath: string; remote?: Array<{ url: string; bundle: Bundle }> },
  ) {
    this.folder = start.folder;
    for (const b of start.folder) this.sourceOf.set(b.name, `folder:${start.folderPath}`);
    for (const r of start.remote ?? []) {
      this.remote.set(r.url, r.bundle);
      this.sourceOf.set(r.bundle.name, r.url);
    }
  }

  /** The set to build the core with. */
  get all(): Bundle[] {
    return [...this.folder, ...this.remote.values()];
  }

  /** Where each active bundle came from ("folder:<path>" or its URL). */
  source(name: string): string {
    return this.sourceOf.get(name) ?? 'unknown';
  }

  watchFolder(o: LiveBundlesOptions): BundleFolderWatcher {
    const source = `folder:${o.path}`;
    const w = new BundleFolderWatcher({
      path: o.path,
      ...(o.verification ? { verification: o.verification } : {}),
      ...(o.intervalMs ? { intervalMs: o.intervalMs } : {}),
      ...(o.baseline !== undefined ? { baseline: o.baseline } : {}),
      onSet: (next) => {
        const before = this.folder;
        this.folder = next;
        for (const b of next) this.sourceOf.set(b.name, source);
        if (!this.apply()) this.folder = before;
      },
      onRefused: (err, files) => {
        const names = files.map((f) => f.slice(f.lastIndexOf('/') + 1).replace(/\.tar\.gz$|\.tgz$/, ''));
        this.refused(names.length > 0 ? names : ['(folder)'], err, source);
      },
    });
    w.start();
    this.stops.push(() => w.stop());
    return w;
  }

  pollUrl(o: BundleUrlOptions): BundleUrlSource {
    return this.adopt(new BundleUrlSource(o));
  }

  /** Polls a source from now on (one start-up already fetched from: its ETag is kept, so the first poll is a 304). */
  adopt(s: BundleUrlSource): BundleUrlSource {
    const url = s.url;
    s.attach({
      onBundle: (bundle) => {
        const before = this.remote.get(url);
        this.remote.set(url, bundle);
        this.sourceOf.set(bundle.name, url);
        if (this.apply()) return true;
        if (before) this.remote.set(url, before);
        else this.remote.delete(url);
        return false;
      },
      onRefused: (err) => this.refused([s.name], err, url),
    });
    s.start();
    this.stops.push(() => s.stop());
    return s;
  }

  stop(): void {
    for (const s of this.stops) s();
  }

  /** Activates the union if it changed anything; false when it was refused. */
  private apply(): boolean {
    const next = this.all;
    const before = this.core.engine.policies.bundles;
    const { activated, deactivated } = changes(before, next);
    if (activated.length === 0 && deactivated.length === 0) return true;
    try {
      checkBundleSet(next);
      this.core.engine.activate(next);
    } catch (err) {
      const reason = errorMessage(err);
      for (const b of activated) this.record({ result: 'refused', bundle: b.name, revision: b.revision, digest: b.digest, reason }, this.source(b.name));
      this.log.error({ err: reason, bundles: activated.map((b) => b.name) }, 'bundle set refused; the active set keeps serving');
      return false;
    }
    for (const b of activated) {
      this.record({ result: 'activated', ...described(b) }, this.source(b.name));
      this.log.info({ bundle: b.name, revision: b.revision, digest: b.digest, signer: b.signer, source: this.source(b.name) }, 'bundle activated');
    }
    for (const b of deactivated) {
      this.record({ result: 'deactivated', ...described(b), reason: 'its source no longer has it' }, this.source(b.name));
      this.log.warn({ bundle: b.name, revision: b.revision, digest: b.digest }, 'bundle deactivated; its entrypoints answer unknown_entrypoint');
    }
    this.server.refreshHealth();
    return true;
  }

  private refused(names: string[], err: unknown, source: string): void {
    const reason = errorMessage(err);
    const recorded = names.map((name) => this.record({ result: 'refused', bundle: name, reason }, source));
    if (recorded.includes(true)) this.log.error({ err: reason, source }, 'bundle refused; the active set keeps serving');
  }

  /** Counts the event and records it in the ledger; false when it repeats the bundle's last refusal (counted only). */
  private record(event: Omit<PolicyEvent, 'source'>, source: string): boolean {
    this.server.metrics.bundleActivations.inc({ bundle: event.bundle, result: event.result });
    const key = `${source}\n${event.digest ?? ''}\n${event.reason ?? ''}`;
    if (event.result === 'refused') {
      if (this.lastRefusal.get(event.bundle) === key) return false;
      this.lastRefusal.set(event.bundle, key);
    } else {
      this.lastRefusal.delete(event.bundle);
    }
    this.core.engine
      .recordPolicyEvent({ ...event, source })
      .catch((err: unknown) =>
        this.log.error({ err: errorMessage(err), bundle: event.bundle, result: event.result }, 'policy event could not be recorded in the ledger'),
      );
    return true;
  }
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
