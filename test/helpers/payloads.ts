import type { Database } from 'better-sqlite3';
import { bodyText, storeBody, type StoredBody } from '../../src/ledger/payload-body.js';

/** A payload as the file holds it. */
function storedBody(db: Database, seq: number): StoredBody {
  const row = db.prepare('SELECT body FROM payloads WHERE seq = ?').get(seq) as { body: StoredBody } | undefined;
  if (!row) throw new Error(`no payload at seq ${seq}`);
  return row.body;
}

/** A payload's canonical text, however the file stores it (a decision's deflated: src/ledger/payload-body.ts). */
export function payloadText(db: Database, seq: number): string {
  return bodyText(storedBody(db, seq));
}

/** The payload text of the entry with this decision id. */
export function payloadTextOf(db: Database, decisionId: string): string {
  const seq = db.prepare('SELECT seq FROM entries WHERE decision_id = ?').pluck().get(decisionId) as number | undefined;
  if (seq === undefined) throw new Error(`no entry ${decisionId}`);
  return payloadText(db, seq);
}

/**
 * What an editor of the file does to a payload: its text changed by `edit`, written back in the
 * form it was stored in (deflated stays deflated). The caller lifts the append-only triggers first.
 */
export function editPayload(db: Database, seq: number, edit: (text: string) => string): void {
  const stored = storedBody(db, seq);
  const text = edit(bodyText(stored));
  // Only a decision's payload is stored deflated: a BLOB is written back as storeBody writes one.
  db.prepare('UPDATE payloads SET body = ? WHERE seq = ?').run(typeof stored === 'string' ? text : storeBody('decision', text), seq);
}
