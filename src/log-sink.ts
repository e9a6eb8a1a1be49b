import { write, writeSync } from 'node:fs';

/** Most bytes queued behind a slow reader before lines are dropped (and counted) rather than held. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/**
 * Where the server's JSON log lines go: a file descriptor written asynchronously,
 * one write at a time. Logging never holds the process hostage: when the reader
 * goes away (EPIPE, or any write error) the sink says so once on stderr and drops
 * every later line; behind a reader that stalls, lines beyond MAX_QUEUED_BYTES
 * are dropped and counted instead of blocking the server.
 */
export class LogSink {
  private queue: Buffer[] = [];
  private queued = 0;
  private writing = false;
  private broken: string | undefined;
  private drained: Array<() => void> = [];
  dropped = 0;

  constructor(private readonly fd: number) {}

  write(line: string): boolean {
    if (this.broken) return true;
    const bytes = Buffer.from(line);
    if (this.queued + bytes.length > MAX_QUEUED_BYTES) {
      this.dropped++;
      return true;
    }
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (!this.writing) this.next();
    return true;
  }

  get isBroken(): boolean {
    return this.broken !== undefined;
  }

  /** Resolves when everything queued is written (or dropped because the reader is gone). */
  flushed(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private next(): void {
    const chunk = this.queue.length > 1 ? Buffer.concat(this.queue.splice(0)) : this.queue.shift();
    if (!chunk || this.broken) {
      this.writing = false;
      this.queue = [];
      this.queued = 0;
      for (const resolve of this.drained.splice(0)) resolve();
      return;
    }
    this.writing = true;
    write(this.fd, chunk, (err, written) => {
      if (err) return this.fail(err);
      this.queued -= written;
      if (written < chunk.length) this.queue.unshift(chunk.subarray(written));
      this.next();
    });
  }

  private fail(err: NodeJS.ErrnoException): void {
    this.broken = err.code ?? err.message;
    try {
      writeSync(2, `gavel: log output on fd ${this.fd} failed (${this.broken}); further log lines are dropped\n`);
    } catch {
      // stderr is gone too: nothing left to tell.
    }
    this.next();
  }
}
