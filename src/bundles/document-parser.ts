import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BundleDocuments, DocumentsJob } from './documents.js';

const ENTRY = fileURLToPath(new URL('./document-parser-entry.mjs', import.meta.url));
const MiB = 1024 * 1024;
/** Parsing documents within the limits takes seconds at most; a parser still busy after this is stopped. */
const PARSE_TIMEOUT_MS = 60_000;
/** An idle parser ends after this; the next bundle read starts another (about half a second). */
const IDLE_MS = 10_000;

/** The parser ran out of its heap: the documents are bigger, as values, than the limit allows. */
export class ParserOutOfMemory extends Error {
  override readonly name = 'ParserOutOfMemory';
}

/**
 * Parses a bundle's documents in a child process whose V8 heap is capped at
 * `heapBytes` (--max-old-space-size): a data.json that parses into more values
 * than that ends the child, and the server, whose heap it never touched, goes
 * on. A process, not a worker thread: a worker's resourceLimits do not hold
 * while JSON.parse runs (Node gives a worker whose heap is full 16 MiB more and
 * asks it to stop, but JSON.parse does not stop), so its first allocation
 * larger than that aborts the whole process — measured on Node 20: `[{},{},…]`
 * of 32 MiB in a worker capped at 512 MiB took its process down.
 */
export function parseDocumentsInChild(job: DocumentsJob, heapBytes: number): Promise<BundleDocuments> {
  return parser.parse(job, heapBytes);
}

interface Pending {
  job: DocumentsJob;
  heapBytes: number;
  resolve(docs: BundleDocuments): void;
  reject(err: Error): void;
}

/**
 * One parser process at a time, started on the first bundle read and ended
 * when idle (starting one costs about half a second: a folder of bundles is
 * read by one). Jobs run one after the other; a job that ends the process
 * (out of memory, past the timeout) fails alone, and the next starts another.
 */
class ParserProcess {
  private readonly queue: Pending[] = [];
  private child: ChildProcess | undefined;
  private childHeap = 0;
  private current: { pending: Pending; timer: NodeJS.Timeout; stopped?: Error } | undefined;
  private stderr = '';
  private idle: NodeJS.Timeout | undefined;

  parse(job: DocumentsJob, heapBytes: number): Promise<BundleDocuments> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, heapBytes, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.current) return;
    const pending = this.queue.shift();
    if (!pending) return;
    clearTimeout(this.idle);
    let child: ChildProcess;
    try {
      child = this.childFor(pending.heapBytes);
    } catch (err) {
      // No process to be had (the system refused one): this job fails, the next tries again.
      pending.reject(err instanceof Error ? err : new Error(String(err)));
      this.next();
      return;
    }
    this.stderr = '';
    const timer = setTimeout(() => this.stop(new Error(`parsing took longer than ${PARSE_TIMEOUT_MS / 1000} s`)), PARSE_TIMEOUT_MS);
    this.current = { pending, timer };
    hold(child, true);
    child.send(pending.job, (err) => {
      if (err) this.stop(err);
    });
  }

  private childFor(heapBytes: number): ChildProcess {
    if (this.child && this.childHeap === heapBytes) return this.child;
    this.retire();
    const child = fork(ENTRY, [], {
      execArgv: [`--max-old-space-size=${Math.floor(heapBytes / MiB)}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      // V8's last words are all that is kept: enough to tell running out of heap from another end.
      if (child === this.child) this.stderr = (this.stderr + chunk.toString()).slice(-4096);
    });
    child.on('message', (docs: BundleDocuments) => this.answered(child, docs));
    child.on('error', (err) => this.ended(child, err));
    child.on('close', (code, signal) => this.ended(child, new Error(`the parser stopped (${signal ?? `exit code ${code}`}) before it answered`)));
    this.child = child;
    this.childHeap = heapBytes;
    return child;
  }

  private answered(child: ChildProcess, docs: BundleDocuments): void {
    const current = this.current;
    if (child !== this.child || !current) return;
    clearTimeout(current.timer);
    this.current = undefined;
    current.pending.resolve(docs);
    if (this.queue.length > 0) {
      this.next();
      return;
    }
    // Idle: it no longer keeps this process alive, and ends after a while.
    hold(child, false);
    this.idle = setTimeout(() => this.retire(), IDLE_MS);
    this.idle.unref();
  }

  private ended(child: ChildProcess, err: Error): void {
    if (child !== this.child) return;
    this.child = undefined;
    const current = this.current;
    this.current = undefined;
    if (current) {
      clearTimeout(current.timer);
      const oom = /heap out of memory|Reached heap limit/.test(this.stderr);
      current.pending.reject(current.stopped ?? (oom ? new ParserOutOfMemory('the parser ran out of heap') : err));
    }
    this.next();
  }

  /** Ends the job in hand with `why` (its process is killed: nothing else stops a parse). */
  private stop(why: Error): void {
    if (!this.current || !this.child) return;
    this.current.stopped = why;
    this.child.kill('SIGKILL');
  }

  /** The current process, if any, is let go: what it does from now on is no one's answer. */
  private retire(): void {
    const child = this.child;
    this.child = undefined;
    child?.kill('SIGKILL');
  }
}

/** A busy parser keeps this process alive (its answer is awaited); an idle one does not. */
function hold(child: ChildProcess, busy: boolean): void {
  const handles = [child, child.channel, child.stderr as unknown as { ref?(): void; unref?(): void } | null];
  for (const h of handles) {
    if (busy) h?.ref?.();
    else h?.unref?.();
  }
}

const parser = new ParserProcess();
