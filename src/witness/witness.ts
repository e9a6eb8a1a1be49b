import type { Database } from 'better-sqlite3';
import { CheckpointError, parseCheckpoint } from '../ledger/checkpoint.js';
import type { SigningKey, VerifierKey } from '../ledger/keys.js';
import { EMPTY_ROOT, verifyConsistency } from '../ledger/merkle.js';
import { verify } from 'node:crypto';
import { cosign } from '../ledger/cosignature.js';

/**
 * A witness (C2SP tlog-witness): per log it knows (its origin and note key), it keeps the last
 * checkpoint it cosigned, and cosigns a new one only when a consistency proof shows the old tree
 * to be a prefix of the new. A log that forks its history (an older copy of the file restored
 * and written on, say) cannot get a cosignature for the fork, and anyone who requires
 * cosignatures (`gavel audit verify --min-witnesses`) sees it. The state is a SQLite file of its
 * own; the size is moved by compare-and-swap, so two submissions cannot roll it back.
 *
 * `addCheckpoint` is the HTTP `POST /add-checkpoint` of C2SP tlog-witness: the request body is
 *
 *   old <size the client believes the witness has>\n
 *   <base64 consistency proof hash>\n   (0 to 63 lines)
 *   \n
 *   <the signed checkpoint note>
 *
 * and the answers: 200 with the cosignature line; 409 with the witness's size (text/x.tlog.size)
 * when `old` is not it; 404 for an unknown origin; 403 without a valid signature of the log's key;
 * 422 when the proof fails (or `old` is 0 with a proof, or the same size with another root);
 * 400 for anything malformed.
 */
export const WITNESS_DDL = `CREATE TABLE IF NOT EXISTS witness_logs (
  origin TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  root BLOB NOT NULL,
  note TEXT NOT NULL
);`;

export interface WitnessResponse {
  status: 200 | 400 | 403 | 404 | 409 | 422;
  body: string;
  contentType: string;
}

const TEXT = 'text/plain; charset=utf-8';
const reply = (status: WitnessResponse['status'], body: string, contentType = TEXT): WitnessResponse => ({ status, body, contentType });

const MAX_PROOF_LINES = 63;

interface Request {
  old: number;
  proof: Buffer[];
  note: string;
}

export class Witness {
  private readonly db: Database;
  private readonly key: SigningKey;
  private readonly logs: Map<string, VerifierKey[]>;
  private readonly now: () => number;

  constructor(db: Database, key: SigningKey, logKeys: readonly VerifierKey[], now: () => number = () => Date.now()) {
    this.db = db;
    this.key = key;
    this.now = now;
    this.logs = new Map();
    // A log's origin is its key's name (gavel's: gavel.ledger/<ledger id>).
    for (const k of logKeys) this.logs.set(k.name, [...(this.logs.get(k.name) ?? []), k]);
    db.exec(WITNESS_DDL);
  }

  /** The size and root this witness last cosigned for a log (0 and the empty root before the first). */
  latest(origin: string): { size: number; root: Buffer } {
    const row = this.db.prepare('SELECT size, root FROM witness_logs WHERE origin = ?').get(origin) as { size: number; root: Buffer } | undefined;
    return row ?? { size: 0, root: EMPTY_ROOT };
  }

  addCheckpoint(body: string): WitnessResponse {
    const request = parseRequest(body);
    if (typeof request === 'string') return reply(400, `${request}\n`);
    let parsed: ReturnType<typeof parseCheckpoint>;
    try {
      parsed = parseCheckpoint(request.note);
    } catch (err) {
      return reply(400, `the checkpoint is malformed: ${err instanceof CheckpointError ? err.message : 'unreadable'}\n`);
    }
    const { checkpoint, body: noteBody, signatures } = parsed;
    const keys = this.logs.get(checkpoint.origin);
    if (!keys) return reply(404, 'unknown log\n');
    const signed = signatures.some((s) =>
      keys.some(
        (k) =>
          s.name === k.name &&
          s.blob.length === 68 &&
          s.blob.subarray(0, 4).equals(k.keyId) &&
          verify(null, Buffer.from(noteBody), k.publicKey, s.blob.subarray(4)),
      ),
    );
    if (!signed) return reply(403, 'no valid signature of the log\n');
    // C2SP: line 3 of a checkpoint is the root hash, whatever the log's extension lines.
    const root = Buffer.from(noteBody.split('\n')[2]!, 'base64');
    const size = checkpoint.size;
    if (request.old > size) return reply(400, `old size ${request.old} is past the checkpoint's size ${size}\n`);
    const latest = this.latest(checkpoint.origin);
    if (request.old !== latest.size) return reply(409, `${latest.size}\n`, 'text/x.tlog.size');
    if (size === 0 && !root.equals(EMPTY_ROOT)) return reply(422, 'an empty tree has the empty root\n');
    if (request.old === size) {
      if (request.proof.length > 0 || !root.equals(latest.root)) return reply(422, 'the same size with another root: the log forked\n');
    } else if (request.old === 0) {
      if (request.proof.length > 0) return reply(422, 'from size 0 the consistency proof is empty\n');
    } else if (!verifyConsistency(request.old, size, latest.root, root, request.proof)) {
      return reply(422, `the checkpoint at size ${size} is not consistent with the one cosigned at size ${request.old}\n`);
    }
    // Compare-and-swap: a submission that moved the size meanwhile wins; this one is told the new size.
    const moved =
      latest.size === 0 && request.old === 0 && !this.db.prepare('SELECT 1 FROM witness_logs WHERE origin = ?').get(checkpoint.origin)
        ? this.db.prepare('INSERT OR IGNORE INTO witness_logs(origin, size, root, note) VALUES (?, ?, ?, ?)').run(checkpoint.origin, size, root, request.note)
            .changes
        : this.db
            .prepare('UPDATE witness_logs SET size = ?, root = ?, note = ? WHERE origin = ? AND size = ? AND root = ?')
            .run(size, root, request.note, checkpoint.origin, request.old, latest.root).changes;
    if (moved !== 1) return reply(409, `${this.latest(checkpoint.origin).size}\n`, 'text/x.tlog.size');
    return reply(200, cosign(noteBody, this.key, Math.floor(this.now() / 1000)));
  }
}

/** The request body, or what is wrong with it. */
function parseRequest(body: string): Request | string {
  const split = body.indexOf('\n\n');
  if (split < 0) return 'the request has no blank line before the checkpoint';
  const head = body.slice(0, split).split('\n');
  const oldLine = /^old (0|[1-9]\d{0,15})$/.exec(head[0] ?? '');
  if (!oldLine) return 'the request must start with "old <size>"';
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) return `a consistency proof has at most ${MAX_PROOF_LINES} hashes`;
  const proof: Buffer[] = [];
  for (const line of lines) {
    const hash = Buffer.from(line, 'base64');
    if (hash.length !== 32 || hash.toString('base64') !== line) return 'every proof line must be a base64 SHA-256 hash';
    proof.push(hash);
  }
  return { old: Number(oldLine[1]), proof, note: body.slice(split + 2) };
}
