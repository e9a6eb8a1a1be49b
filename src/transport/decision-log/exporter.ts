import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../log.js';
import type { LedgerView } from '../../runtime/faces.js';
import type { DecisionLogConfig } from './config.js';
import { decisionLogEvent } from './event.js';

const gzipped = promisify(gzip);

export interface DecisionLogExporter {
  /** The last seq the collector accepted (and the cursor file holds). */
  readonly acknowledged: number;
  /** POSTs that failed (refused, timed out, unreachable) and were retried. */
  readonly failures: number;
  stop(): Promise<void>;
}

/**
 * Pushes every committed ledger entry to a decision-log collector, oldest first, in batches (a gzipped
 * JSON array per POST, OPA's decision log service format: event.ts). The position is the seq of the last
 * accepted entry, kept in a cursor file, so a restart resumes there: delivery is at least once, and the
 * seq is the de-duplication key. A batch that fails is retried with exponential backoff and jitter,
 * for ever; Decide never waits for any of it — the exporter only reads what the ledger already committed.
 */
export function startDecisionLog(view: LedgerView, config: DecisionLogConfig, labels: { id: string; version: string }, log: Logger): DecisionLogExporter {
  let acknowledged = readCursor(config.cursorFile, view, log);
  let failures = 0;
  const stopping = new AbortController();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      stopping.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      });
    });

  const send = async (body: Buffer): Promise<void> => {
    const res = await fetch(config.url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      signal: AbortSignal.any([AbortSignal.timeout(config.timeoutMs), stopping.signal]),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`the collector answered HTTP ${res.status}`);
  };

  const run = async () => {
    while (!stopping.signal.aborted) {
      const rows = [...view.query({ order: 'asc', cursor: { seq: acknowledged, timeMs: 0 }, limit: config.batchEntries })];
      if (rows.length === 0) {
        await sleep(config.pollMs);
        continue;
      }
      const events = rows.flatMap((r) => {
        const entry = view.get(r.decisionId);
        return entry ? [decisionLogEvent(entry, labels)] : [];
      });
      const body = await gzipped(JSON.stringify(events));
      for (let attempt = 0; !stopping.signal.aborted; attempt++) {
        try {
          await send(body);
          break;
        } catch (err) {
          if (stopping.signal.aborted) break;
          failures++;
          const wait = Math.min(config.maxBackoffMs, config.minBackoffMs * 2 ** Math.min(attempt, 20)) * (0.5 + Math.random() / 2);
          log.warn(
            { err: errorMessage(err), first_seq: rows[0]!.seq, entries: rows.length, retry_ms: Math.round(wait) },
            'decision log: batch not accepted; retrying',
          );
          await sleep(wait);
        }
      }
      if (stopping.signal.aborted) break;
      acknowledged = rows.at(-1)!.seq;
      writeCursor(config.cursorFile, acknowledged);
      if (rows.length < config.batchEntries) await sleep(config.pollMs);
    }
  };
  const running = run().catch((err: unknown) => log.error({ err }, 'decision log: the exporter stopped'));

  return {
    get acknowledged() {
      return acknowledged;
    },
    get failures() {
      return failures;
    },
    stop: async () => {
      stopping.abort();
      await running;
    },
  };
}

/** The acknowledged seq; 0 when there is no cursor yet, or when it is past the ledger's head (another ledger: everything is sent again). */
function readCursor(file: string, view: LedgerView, log: Logger): number {
  if (!existsSync(file)) return 0;
  const text = readFileSync(file, 'utf8').trim();
  const seq = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(seq)) {
    log.error({ cursor_file: file }, 'decision log: the cursor file does not hold a seq; sending the whole ledger again');
    return 0;
  }
  if (seq > view.size) {
    log.error(
      { cursor_file: file, cursor: seq, ledger_size: view.size },
      'decision log: the cursor is past the ledger head (another ledger?); sending it all again',
    );
    return 0;
  }
  return seq;
}

function writeCursor(file: string, seq: number): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${seq}\n`);
  renameSync(tmp, file);
}
