import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.js';

/**
 * Another commit of this repository checked out beside it (a git worktree at `path`, sharing this
 * checkout's node_modules), for benches that compare a baseline in the same run. `remove` is safe
 * to call twice (once at the end, once from the watchdog).
 */
export class BaselineCheckout {
  /** The commit, abbreviated as git names it. */
  readonly commit: string;
  private added = false;

  constructor(
    ref: string,
    readonly path: string,
  ) {
    this.commit = execFileSync('git', ['rev-parse', '--short', ref], { cwd: ROOT, encoding: 'utf8' }).trim();
  }

  add(): this {
    execFileSync('git', ['worktree', 'add', '--detach', this.path, this.commit], { cwd: ROOT, stdio: 'ignore' });
    this.added = true;
    symlinkSync(join(ROOT, 'node_modules'), join(this.path, 'node_modules'));
    return this;
  }

  remove(): void {
    if (!this.added) return;
    this.added = false;
    execFileSync('git', ['worktree', 'remove', '--force', this.path], { cwd: ROOT, stdio: 'ignore' });
  }
}
