import { existsSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { parseCheckpoint } from '../ledger/checkpoint.js';
import { formatVerifierKey } from '../ledger/keys.js';
import { latestCheckpointNote, readOrigin } from '../ledger/meta.js';
import { openLedgerReadOnly } from '../ledger/read-only.js';
import { verifierKeyOfFile } from '../ledger/verifier-key.js';
import { verifyLedgerAsync } from '../ledger/verify.js';
import { wireVerifyReport } from '../ledger/wire.js';
import { GavelError } from '../lib/errors.js';
import { stateMismatches, withState } from '../state/verify-state.js';
import { policyStatus } from '../ledger/policy-status.js';
import { getEntry, queryEntries } from '../ledger/query.js';
import { DAY_MS, type ReasonDay, reasonsOfDay } from '../ledger/reason-counts.js';
import { timeline } from '../ledger/timeline.js';
import { spendByDay, topSpenders } from '../usage/spend.js';
import type { CheckpointInfo, LedgerView } from './faces.js';

export interface LedgerViewParts {
  db: Database;
  label: string;
  verify: LedgerView['verify'];
  latestCheckpoint: () => CheckpointInfo;
}

/**
 * The console's reading of one ledger over a connection: the writer's own (a running gavel), or a
 * read-only one (`gavel console --ledger`). Every read is a query of the file as it is now.
 */
export function ledgerView(parts: LedgerViewParts): LedgerView {
  const { db } = parts;
  const pastDays = new Map<string, ReasonDay[]>();
  return {
    label: parts.label,
    origin: readOrigin(db),
    query: (filter) => queryEntries(db, filter),
    get: (id) => getEntry(db, id),
    timeline: (filter) => timeline(db, filter),
    policyStatus: () => policyStatus(db),
    latestCheckpoint: parts.latestCheckpoint,
    verify: parts.verify,
    topSpenders: (scope, sinceMs, limit) => topSpenders(db, scope, sinceMs, limit),
    spendByDay: (scope, key, sinceMs) => spendByDay(db, scope, key, sinceMs),
    reasonsByDay: (codes, sinceMs) => reasonsByDaySliced(db, codes, sinceMs, pastDays),
    get size() {
      return (db.prepare('SELECT COALESCE(MAX(seq), 0) AS n FROM entries').get() as { n: number }).n;
    },
  };
}

/** The latest signed checkpoint as pages and the API show it (size 0 and empty hashes when there is none yet). */
export function checkpointInfo(note: string | undefined, verifierKey: string): CheckpointInfo {
  const parsed = note ? parseCheckpoint(note).checkpoint : undefined;
  return { note: note ?? '', size: parsed?.size ?? 0, headHash: parsed?.headHash ?? '', verifierKey };
}

/** Days of reason counts kept: a day that has ended does not change (entries are appended at the time they are written). */
const PAST_DAYS_KEPT = 1000;

/**
 * Reason counts per day, one day per query with the event loop given back between days, so a month of
 * a busy ledger never stalls the server for more than one day's rows; ended days are counted once.
 */
async function reasonsByDaySliced(db: Database, codes: readonly string[], sinceMs: number, past: Map<string, ReasonDay[]>): Promise<ReasonDay[]> {
  const out: ReasonDay[] = [];
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  for (let day = Math.floor(sinceMs / DAY_MS) * DAY_MS; day <= today; day += DAY_MS) {
    const key = `${day}|${codes.join(',')}`;
    let counts = day < today ? past.get(key) : undefined;
    if (!counts) {
      await new Promise((resolve) => setImmediate(resolve));
      counts = reasonsOfDay(db, codes, day);
      if (day < today) {
        if (past.size >= PAST_DAYS_KEPT) past.clear();
        past.set(key, counts);
      }
    }
    out.push(...counts);
  }
  return out;
}

/**
 * A ledger file opened read-only for `gavel console --ledger` (an offline copy, a replica's file):
 * verified with the key beside it (`<ledger>.key`) or the verifier key given. `close()` lets it go.
 */
export function openLedgerFileView(path: string, pubkey?: string): LedgerView & { close(): void } {
  if (!existsSync(path)) throw new GavelError('config_invalid', `ledger ${path} does not exist`);
  const db = openLedgerReadOnly(path);
  try {
    const { key, keyPath } = verifierKeyOfFile(db, path, { pubkey });
    const view = ledgerView({
      db,
      label: path,
      latestCheckpoint: () => checkpointInfo(latestCheckpointNote(db), key ? formatVerifierKey(key) : ''),
      verify: async (onProgress) => {
        if (!key)
          throw new GavelError('config_invalid', `no verifier key for ${path}: ${keyPath ?? 'its key file'} is absent; pass its key (gavel audit pubkey)`);
        // A connection of its own: the walk holds one read snapshot while pages keep reading.
        const reader = openLedgerReadOnly(path);
        try {
          const chain = await verifyLedgerAsync(reader, { key, ...(onProgress ? { onProgress } : {}) });
          return withState(wireVerifyReport(chain), chain.ok ? stateMismatches(reader) : [], path);
        } finally {
          reader.close();
        }
      },
    });
    return Object.assign(view, { close: () => db.close() });
  } catch (err) {
    db.close();
    throw err;
  }
}
