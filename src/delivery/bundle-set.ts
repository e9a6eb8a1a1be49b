import type { Bundle } from '../bundles/bundle.js';
import { BundleFolderWatcher } from '../bundles/folder-watcher.js';
import type { BundleUrlSource } from '../bundles/http-source.js';
import { checkBundleSet } from '../bundles/loader.js';
import type { BundleVerification } from '../bundles/verification-keys.js';

/** What a bundle set does when its sources hand over something new. */
export interface BundleSetHooks {
  /** Activates the union whole, or throws to refuse it (the previous set keeps serving). */
  activate(next: Bundle[], before: readonly Bundle[]): void;
  /** The union went live; `source` names where each bundle came from. */
  activated(next: Bundle[], before: readonly Bundle[]): void;
  /** The union was refused whole; `candidates` are the bundles the change brought. */
  refusedSet(err: unknown, candidates: Bundle[]): void;
  /** A source could not hand over a bundle at all (unreadable, unsigned): `names` are the bundles it concerns. */
  refusedSource(err: unknown, names: string[], source: string): void;
}

/** Where a bundle came from: "folder:<path>" or its URL. */
export type BundleSource = string;

/**
 * One set of bundles made of a folder's bundles plus one bundle per URL. Whenever
 * a source hands over something new, the union is checked (names and entrypoints
 * unique) and activated whole through the hooks, or refused whole with the
 * previous set still active. The live and the shadow set are both this; they
 * differ only in their hooks (delivery/live.ts, delivery/shadow.ts).
 */
export class BundleSet {
  private folder: Bundle[];
  private readonly remote = new Map<string, Bundle>();
  private readonly sourceOf = new Map<string, BundleSource>();
  private readonly stops: Array<() => void> = [];
  private active: readonly Bundle[];

  constructor(
    private readonly hooks: BundleSetHooks,
    start: { folder: Bundle[]; folderPath?: string; remote?: Array<{ url: string; bundle: Bundle }> },
  ) {
    this.folder = start.folder;
    if (start.folderPath !== undefined) for (const b of start.folder) this.sourceOf.set(b.name, `folder:${start.folderPath}`);
    for (const r of start.remote ?? []) {
      this.remote.set(r.url, r.bundle);
      this.sourceOf.set(r.bundle.name, r.url);
    }
    this.active = [];
  }

  /** The union of every source's bundles now. */
  get all(): Bundle[] {
    return [...this.folder, ...this.remote.values()];
  }

  /** Where a bundle came from ("folder:<path>" or its URL). */
  source(name: string): BundleSource {
    return this.sourceOf.get(name) ?? 'unknown';
  }

  /** Activates the start set (throws when it is not a valid set: the runtime does not start). */
  start(): void {
    const next = this.all;
    checkBundleSet(next);
    this.hooks.activate(next, this.active);
    this.active = next;
  }

  watchFolder(o: { path: string; verification?: BundleVerification; baseline?: string; intervalMs?: number }): void {
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
        this.hooks.refusedSource(err, names.length > 0 ? names : ['(folder)'], source);
      },
    });
    w.start();
    this.stops.push(() => w.stop());
  }

  /** Polls a source from now on (one start-up already fetched from: its ETag is kept, so the first poll is a 304). */
  adopt(s: BundleUrlSource): void {
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
      onRefused: (err) => this.hooks.refusedSource(err, [s.name], url),
    });
    s.start();
    this.stops.push(() => s.stop());
  }

  /**
   * Replaces the whole set with these bundles from one source (an operator's API call, say): activated
   * all or nothing like any change, and kept until a watched source hands over something new.
   * False when the set was refused (the previous one keeps serving).
   */
  replace(bundles: Bundle[], source: BundleSource): boolean {
    const before = { folder: this.folder, remote: new Map(this.remote) };
    this.folder = bundles;
    this.remote.clear();
    for (const b of bundles) this.sourceOf.set(b.name, source);
    if (this.apply()) return true;
    this.folder = before.folder;
    for (const [url, b] of before.remote) this.remote.set(url, b);
    return false;
  }

  stop(): void {
    for (const s of this.stops) s();
    this.stops.length = 0;
  }

  /** Activates the union if it changed anything; false when it was refused. */
  private apply(): boolean {
    const next = this.all;
    const before = this.active;
    const { activated, deactivated } = changes(before, next);
    if (activated.length === 0 && deactivated.length === 0) return true;
    try {
      checkBundleSet(next);
      this.hooks.activate(next, before);
    } catch (err) {
      this.hooks.refusedSet(err, activated);
      return false;
    }
    this.active = next;
    this.hooks.activated(next, before);
    return true;
  }
}

/** Bundles new or changed (by digest) in `next`, and those of `before` that `next` no longer has. */
export function changes(before: readonly Bundle[], next: readonly Bundle[]): { activated: Bundle[]; deactivated: Bundle[] } {
  const old = new Map(before.map((b) => [b.name, b.digest]));
  const names = new Set(next.map((b) => b.name));
  return {
    activated: next.filter((b) => old.get(b.name) !== b.digest),
    deactivated: before.filter((b) => !names.has(b.name)),
  };
}
