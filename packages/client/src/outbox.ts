import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Outcome } from './decision.js';
import type { FailMode } from './options.js';

/** One decision the client made without gavel, as the outbox keeps it until RecordOffline has it. */
export interface OfflineRecord {
  /** A UUID the client made: the Decision's decisionId, RecordOffline's offline_id, the ledger entry's decision_id. */
  offline_id: string;
  /** RFC 3339. */
  decided_at: string;
  mode: FailMode;
  /** deny for closed, allow for open, the local bundle's answer for fallback. */
  decision: Outcome;
  reasons: Array<{ code: string; message: string }>;
  /** The input as the client sent it (UTF-8 JSON), unredacted: the server redacts it when it records it. */
  input_json: string;
  request_id: string;
  policy: string;
  route: string;
  /** The error code that kept gavel from being asked (unavailable, circuit_open, deadline_exceeded). */
  cause: string;
  /** The local bundle that decided (fallback). */
  policy_version?: { bundle: string; revision: string; digest: string };
}

/**
 * A JSON-lines file of offline decisions, one process at a time. An append is fsync'd before it
 * resolves (the decision is answered only after), so a crash loses no answered decision; a crash
 * in the middle of an append leaves a torn last line, never answered, which reading skips and the
 * next append ends first. Delivered records are removed by rewriting the file (a temporary file,
 * fsync'd, renamed over it): a crash before the rename only means a redelivery, which the server
 * answers as a duplicate. Appends and rewrites are serialized.
 */
export class Outbox {
  private queue: Promise<unknown> = Promise.resolve();
  private checkedTail = false;

  constructor(readonly path: string) {}

  append(record: OfflineRecord): Promise<void> {
    return this.serialized(async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const lead = this.checkedTail ? '' : await this.tornTail();
      this.checkedTail = true;
      await writeSynced(this.path, 'a', `${lead}${JSON.stringify(record)}\n`);
    });
  }

  /** Every record waiting for delivery, oldest first. */
  async read(): Promise<OfflineRecord[]> {
    return parseLines(await readOrEmpty(this.path));
  }

  /** Drops the records with these ids (delivered); records appended meanwhile stay. */
  remove(ids: ReadonlySet<string>): Promise<void> {
    if (ids.size === 0) return Promise.resolve();
    return this.serialized(async () => {
      const keep = (await this.read()).filter((r) => !ids.has(r.offline_id));
      const tmp = `${this.path}.tmp`;
      await writeSynced(tmp, 'w', keep.map((r) => `${JSON.stringify(r)}\n`).join(''));
      await rename(tmp, this.path);
      await syncDir(dirname(this.path));
      this.checkedTail = true;
    });
  }

  /** A newline when the file ends in a torn line (a crash mid-append), so the next record starts on its own line. */
  private async tornTail(): Promise<string> {
    const text = await readOrEmpty(this.path);
    return text === '' || text.endsWith('\n') ? '' : '\n';
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function parseLines(text: string): OfflineRecord[] {
  const out: OfflineRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as OfflineRecord;
      if (typeof r?.offline_id === 'string') out.push(r);
    } catch {
      // a torn line from a crash mid-append: that decision was never answered
    }
  }
  return out;
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

async function writeSynced(path: string, flags: 'a' | 'w', text: string): Promise<void> {
  const file = await open(path, flags, 0o600);
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
