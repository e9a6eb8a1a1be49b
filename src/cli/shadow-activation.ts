import type { Bundle } from '../bundles/bundle.js';
import { BundleFolderWatcher } from '../bundles/folder-watcher.js';
import type { BundleUrlSource } from '../bundles/http-source.js';
import { checkBundleSet } from '../bundles/loader.js';
import type { BundleVerification } from '../bundles/verification-keys.js';
import type { Shadow } from '../engine/shadow/shadow.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../log.js';

/**
 * The shadow bundle set: the shadow folder's bundles plus one per shadow
 * bundle URL, checked (names and entrypoints unique) and activated whole, like
 * the live set. Shadow bundles decide nothing, so their changes are logged,
 * not recorded in the ledger; a refused change keeps the previous shadow set.
 */
export class ShadowBundles {
  private folder: Bundle[];
  private readonly remote = new Map<string, Bundle>();
  private readonly stops: Array<() => void> = [];

  constructor(
    private readonly shadow: Shadow,
    private readonly log: Logger,
    start: { folder: Bundle[]; remote: Array<{ url: string; bundle: Bundle }> },
  ) {
    this.folder = start.folder;
    for (const r of start.remote) this.remote.set(r.url, r.bundle);
  }

  get all(): Bundle[] {
    return [...this.folder, ...this.remote.values()];
  }

  /** Activates the start set (throws when it is not a valid set: gavel does not start). */
  activate(): void {
    checkBundleSet(this.all);
    this.shadow.activate(this.all);
  }

  watchFolder(o: { path: string; verification?: BundleVerification; baseline?: string }): void {
    const w = new BundleFolderWatcher({
      path: o.path,
      ...(o.verification ? { verification: o.verification } : {}),
      ...(o.baseline !== undefined ? { baseline: o.baseline } : {}),
      onSet: (next) => {
        const before = this.folder;
        this.folder = next;
        if (!this.apply()) this.folder = before;
      },
      onRefused: (err) => this.log.error({ err: errorMessage(err), source: `folder:${o.path}` }, 'shadow bundle refused; the shadow set is unchanged'),
    });
    w.start();
    this.stops.push(() => w.stop());
  }

  adopt(s: BundleUrlSource): void {
    const url = s.url;
    s.attach({
      onBundle: (bundle) => {
        const before = this.remote.get(url);
        this.remote.set(url, bundle);
        if (this.apply()) return true;
        if (before) this.remote.set(url, before);
        else this.remote.delete(url);
        return false;
      },
      onRefused: (err) => this.log.error({ err: errorMessage(err), source: url }, 'shadow bundle refused; the shadow set is unchanged'),
    });
    s.start();
    this.stops.push(() => s.stop());
  }

  stop(): void {
    for (const s of this.stops) s();
  }

  private apply(): boolean {
    const next = this.all;
    try {
      checkBundleSet(next);
      this.shadow.activate(next);
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'shadow bundle set refused; the shadow set is unchanged');
      return false;
    }
    this.log.info({ shadow_bundles: next.map((b) => ({ name: b.name, revision: b.revision, digest: b.digest })) }, 'shadow bundles activated');
    return true;
  }
}
