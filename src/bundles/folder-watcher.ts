import { statSync } from 'node:fs';
import type { Bundle } from './bundle.js';
import { bundleFiles, loadVerifiedBundles } from './loader.js';
import type { BundleVerification } from './verification-keys.js';

export interface FolderWatchOptions {
  path: string;
  verification?: BundleVerification;
  /** How often the folder is looked at (default 500 ms: a change is live within about a second). */
  intervalMs?: number;
  /** The folder as it was when the active set was loaded (`folderFingerprint` taken before loading): a change since is applied at once. */
  baseline?: string;
  /** A new bundle set loaded and verified whole; the caller activates it. */
  onSet(bundles: Bundle[]): void;
  /** The folder changed but its bundle set cannot be used (parse, signature, entrypoint clash); the active set stays. `files`: those that changed. */
  onRefused(err: unknown, files: string[]): void;
}

/**
 * Watches `--bundles` for changed, added and removed `*.tar.gz` files by
 * polling (name, size, mtime, inode: a rename into place is a change). On a
 * change the whole folder is loaded and verified again and handed over as one
 * set, so activation stays all or nothing; a set that fails is refused once
 * and retried only when the folder changes again (a file still being written
 * is refused, then picked up when the write finishes).
 */
export class BundleFolderWatcher {
  private timer: NodeJS.Timeout | undefined;
  private seen: string;
  private busy = false;

  constructor(private readonly o: FolderWatchOptions) {
    this.seen = o.baseline ?? folderFingerprint(o.path);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.o.intervalMs ?? 500);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Looks once now; resolves when a change (if any) was handled. */
  async tick(): Promise<void> {
    if (this.busy) return;
    const now = folderFingerprint(this.o.path);
    if (now === this.seen) return;
    this.busy = true;
    const before = new Set(this.seen.split('\n'));
    this.seen = now;
    // The files new or changed since the last look: what a refusal is about.
    const files =
      now === ''
        ? []
        : now
            .split('\n')
            .filter((l) => !before.has(l))
            .map((l) => l.split('\t')[0]!);
    try {
      this.o.onSet(await loadVerifiedBundles(this.o.path, this.o.verification, { allowEmpty: true }));
    } catch (err) {
      this.o.onRefused(err, files);
    } finally {
      this.busy = false;
    }
  }
}

/** What the watcher compares: every bundle file's name, size, mtime and inode. */
export function folderFingerprint(path: string): string {
  let files: string[];
  try {
    files = bundleFiles(path, true);
  } catch {
    return '';
  }
  return files
    .map((f) => {
      try {
        const st = statSync(f);
        return `${f}\t${st.size}\t${st.mtimeMs}\t${st.ino}`;
      } catch {
        return `${f}\tgone`;
      }
    })
    .join('\n');
}
