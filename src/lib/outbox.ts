import type { TransferListItem } from 'node:worker_threads';

/** Posts a list of messages, with what they transfer, to another thread (a worker's or a port's postMessage). */
export type PostMany<T> = (messages: T[], transfer: TransferListItem[]) => void;

interface Letter<T> {
  message: T;
  transfer: readonly TransferListItem[];
}

/**
 * Messages to one thread, gathered during a turn of the event loop and posted
 * as one list when the turn ends (setImmediate), in the order they were put in.
 * Each post wakes the other thread and crosses the thread boundary once;
 * at 32 decisions in flight a turn holds several messages for one worker.
 *
 * A message put in `later` waits for the next one sent (or for send()), so
 * housekeeping such as "drop this input" does not wake the other thread alone.
 *
 * A list that cannot be posted (a message the structured clone refuses) is
 * posted again a message at a time, and each message that still cannot be
 * posted goes to `refused` with its error: one bad message fails alone.
 */
export class Outbox<T> {
  private letters: Letter<T>[] = [];
  private scheduled = false;

  constructor(
    private readonly post: PostMany<T>,
    private readonly refused: (message: T, err: unknown) => void,
  ) {}

  /** Messages waiting to be posted. */
  get size(): number {
    return this.letters.length;
  }

  /** Posted when this turn of the event loop ends, with whatever else was put in meanwhile. */
  put(message: T, transfer: readonly TransferListItem[] = []): void {
    this.letters.push({ message, transfer });
    this.schedule();
  }

  /** Posted with the next message sent, or by send(). */
  later(message: T): void {
    this.letters.push({ message, transfer: [] });
  }

  /** Posts what waits (if anything) when this turn of the event loop ends. */
  schedule(): void {
    if (this.scheduled || this.letters.length === 0) return;
    this.scheduled = true;
    setImmediate(() => this.send());
  }

  /** Posts what waits now, as one list. */
  send(): void {
    this.scheduled = false;
    const letters = this.letters;
    if (letters.length === 0) return;
    this.letters = [];
    try {
      this.post(
        letters.map((l) => l.message),
        letters.flatMap((l) => l.transfer),
      );
    } catch {
      // The structured clone refused the list before anything was transferred: find the message it refused.
      for (const l of letters) {
        try {
          this.post([l.message], [...l.transfer]);
        } catch (err) {
          this.refused(l.message, err);
        }
      }
    }
  }
}
