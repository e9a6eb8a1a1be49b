import { constants, inflateRawSync } from 'node:zlib';
import { deflateText, finishDeflate, type DeflatedHead } from '../lib/deflate-head.js';

/**
 * How a payload is kept in `payloads.body`: its canonical JSON (RFC 8785) as
 * TEXT, or, for a decision's payload (ledger schema step 4), that text's UTF-8
 * bytes deflated (raw DEFLATE, RFC 1951) as a BLOB. The chain hashes the
 * canonical text either way (`payload_hash`, hash.ts), so how it is kept
 * changes no hash, receipt or proof; every reader goes through `bodyText`.
 *
 * Why decisions: their payload is the input as the policy saw it, usage
 * context included, 2-6 KB of JSON that repeats itself. Stored as text it
 * needed two or three overflow pages of its own per decision; deflated it is
 * under half of that (a quarter when deflated whole) and shares a leaf with
 * the next (bench/README "Payloads deflated").
 * The other kinds stay text: they are small, and SQL reads them where they lie
 * (usage/spend.ts sums reports with json_extract).
 */
export type StoredBody = string | Buffer;

/**
 * The most a stored body may inflate to. No payload gavel writes comes near
 * it (inputs are bounded far below: engine/input.ts); it keeps a body edited
 * into a deflate bomb from taking the reader's memory.
 */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;

/**
 * The form a payload of this kind is stored in. A decision's `head`, when the text still starts
 * with it, is its first part already deflated by the evaluation worker (lib/deflate-head.ts): only
 * what the text gained since is added here. A text that no longer starts with it (an approval was
 * put first) is deflated whole.
 */
export function storeBody(kind: string, jcs: string, head?: DeflatedHead): StoredBody {
  if (kind !== 'decision') return jcs;
  return head && jcs.startsWith(head.text) ? finishDeflate(head.bytes, jcs.slice(head.text.length)) : deflateText(jcs);
}

/**
 * A stored body's canonical text. Throws (a zlib error) when a BLOB does not inflate, or inflates
 * past `maxBytes`: an edited or damaged row.
 */
export function bodyText(body: StoredBody, maxBytes = MAX_BODY_BYTES): string {
  if (typeof body === 'string') return body;
  return inflateRawSync(body, { windowBits: constants.Z_MAX_WINDOWBITS, maxOutputLength: maxBytes }).toString('utf8');
}
