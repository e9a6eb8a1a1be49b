import type { KeyLocks } from './key-locks.js';

/** The approval desk's two locks (approvals/desk.ts), kept apart in one KeyLocks by their key prefix. */
export interface ApprovalLocks {
  /** One approval's hold (`approval\0<id>`): whoever changes or uses it holds it. */
  hold(approvalId: string): Promise<() => void>;
  /** One action's fingerprint (`fingerprint\0<sha256>`): a new request keeps it until its entry is durable. */
  holdFingerprint(fingerprint: string): Promise<() => void>;
}

const REQUEST = 0;
const HOLD = 1;
const USAGE = 2;
const FINGERPRINT = 3;
type Step = typeof REQUEST | typeof HOLD | typeof USAGE | typeof FINGERPRINT;
const NAMES = ['the request id', 'the approval hold', 'the usage keys', 'the fingerprint'] as const;

/**
 * The locks of one decision, taken in one order and let go in one place.
 *
 * Order (each only when it applies; never one out of order):
 * 0. The request id (`caller\0request_id`), when the call is idempotent
 *    (engine/idempotency.ts): taken before anything, held until the entry is
 *    settled, so a retry arriving while the first is decided waits for it and
 *    then finds its entry instead of deciding again. Let go last, by `release()`.
 *    It is the caller's own key: only the same caller's same request waits on it.
 * 1. The approval hold, when the call carries an approval id: taken before
 *    anything is read, so the lookup, the evaluation and the use of a single-use
 *    approval see one state of it. Let go by `release()`, once the entry is
 *    settled (and an abandoned caller's reservation released).
 * 2. The usage keys (`meter.keys(facts)`, all at once in the engine's KeyLocks):
 *    from before usage is read until the decision's staged write is visible to
 *    later reads, so decisions sharing a budget are evaluated one after the other
 *    on fresh totals. Let go by `releaseUsage()` before the receipt is awaited.
 * 3. The fingerprint, taken by the desk's `plan` for a REQUIRE_APPROVAL only, once
 *    per attempt: let go at once when the action already has an open request; a
 *    new request keeps it until its entry is durable or given up
 *    (`releaseFingerprint()` when the receipt settles), so an identical call
 *    waits and then finds that request instead of making a second one. An attempt
 *    whose usage snapshot went stale lets go of it before the next attempt plans.
 *
 * Why this cannot deadlock. A decision waits for a lock only while it holds locks
 * earlier in the order, and whoever holds a lock waits only for locks later in it
 * or for things that take no lock: the runner, the usage store, and the ledger,
 * whose group commit runs on its own turn of the event loop and whose staged
 * writes (usage rows, approval rows, releases) take none. Nothing is taken after
 * anything but a stale attempt's fingerprint is let go (two-phase), and a stale
 * fingerprint is let go before the next is asked for (KeyLocks are not reentrant).
 * The desk's own paths (resolve, get, the sweep, and the expiry in `lookup`)
 * take one approval's hold and, under it, wait only for the store and the ledger:
 * never for usage keys or a fingerprint. The hold and the fingerprint share the
 * desk's KeyLocks, so their keys are prefixed apart: an approval id is the
 * caller's text, and one spelled like a fingerprint key would otherwise make its
 * decision wait for itself. Each of those acquisitions asks for one key, so
 * KeyLocks' first-come order adds no wait between different keys. A shared usage
 * store's transaction (row locks on the usage keys, across replicas) is opened
 * inside the usage keys and committed by `stage`: a fingerprint may be waited
 * for while it is open, but whoever holds a fingerprint has staged and holds none.
 *
 * Misuse (a lock out of order, one kind twice, a lock after one was let go) throws
 * at once instead of deadlocking later; `release()` is idempotent and lets go of
 * whatever is held, last taken first, so one `finally` ends every path: a retry,
 * a throwing stage, a failed append, an abandoned caller.
 */
export class DecisionLocks {
  private readonly held: Array<(() => void) | undefined> = [undefined, undefined, undefined, undefined];
  private last = -1;
  /** Usage keys let go, or everything: nothing more is taken. */
  private shrinking = false;
  private released = false;
  /** A lock is being waited for: a second one asked for meanwhile is misuse. */
  private waiting = false;

  constructor(
    private readonly usageLocks: KeyLocks,
    private readonly approvals: ApprovalLocks | undefined,
    private readonly requestLocks?: KeyLocks,
  ) {}

  /** 0. The caller's request id (an idempotent call). */
  async request(key: string): Promise<void> {
    const locks = this.requestLocks;
    if (!locks) throw new Error('lock order: a request id asked for without request locks');
    await this.take(REQUEST, () => locks.acquire([key]));
  }

  /** 1. The hold of the approval the call carries. */
  async hold(approvalId: string): Promise<void> {
    await this.take(HOLD, () => this.desk().hold(approvalId));
  }

  /** 2. The usage keys the decision reads and may write. */
  async usage(keys: readonly string[]): Promise<void> {
    await this.take(USAGE, () => this.usageLocks.acquire(keys));
  }

  /** 3. An action's fingerprint (through the desk's `plan`); returns the early release of exactly this acquisition. */
  async fingerprint(fingerprint: string): Promise<() => void> {
    const unlock = await this.take(FINGERPRINT, () => this.desk().holdFingerprint(fingerprint));
    return () => {
      if (this.held[FINGERPRINT] === unlock) this.let(FINGERPRINT);
    };
  }

  /** The staged write is visible to later reads: the next decision on these keys may go ahead. */
  releaseUsage(): void {
    this.shrinking = true;
    this.let(USAGE);
  }

  /** The entry is durable or given up, or the attempt went stale. */
  releaseFingerprint(): void {
    this.let(FINGERPRINT);
  }

  /** Everything still held, last taken first. Idempotent; nothing can be taken afterwards. */
  release(): void {
    this.released = true;
    this.shrinking = true;
    for (const step of [FINGERPRINT, USAGE, HOLD, REQUEST] as const) this.let(step);
  }

  private async take(step: Step, acquire: () => Promise<() => void>): Promise<() => void> {
    const why = this.refusal(step);
    if (why) throw new Error(`lock order: ${NAMES[step]} ${why}`);
    this.last = step;
    this.waiting = true;
    let unlock: () => void;
    try {
      unlock = await acquire();
    } finally {
      this.waiting = false;
    }
    // Released while waiting (only by misuse: decide awaits each lock before it can finish).
    if (this.released) {
      unlock();
      throw new Error(`lock order: ${NAMES[step]} was granted after the decision's locks were released`);
    }
    this.held[step] = unlock;
    return unlock;
  }

  private refusal(step: Step): string | undefined {
    if (this.shrinking) return 'is asked for after locks were let go';
    if (this.waiting) return 'is asked for while another lock is awaited';
    if (step < this.last) return `is asked for after ${NAMES[this.last]}`;
    if (this.held[step] || (step === this.last && step !== FINGERPRINT)) return 'is asked for twice';
    return undefined;
  }

  private let(step: Step): void {
    const unlock = this.held[step];
    this.held[step] = undefined;
    unlock?.();
  }

  private desk(): ApprovalLocks {
    if (!this.approvals) throw new Error('lock order: approval locks asked for without an approval desk');
    return this.approvals;
  }
}
