import { constants, deflateRawSync } from 'node:zlib';

/**
 * Raw DEFLATE (RFC 1951) of a text in two parts, made on two threads: the
 * text's head, deflated where it was built and ended with a sync flush (so its
 * last block is not final and ends on a byte boundary), and what the text
 * gained afterwards, appended as stored blocks, the last one final. Together
 * they are one DEFLATE stream, which any inflater reads as the whole text.
 *
 * Why: a decision's payload is built by an evaluation worker and then gains
 * its last keys (`trace`, `usage`) on the thread that records it. Deflating
 * it whole there cost that serial thread a zlib set-up per decision; the
 * appended part is a few hundred bytes, copied as they are.
 */

/** zlib level 3 with an 8 KB window: as small as level 6 on decision payloads, and as fast as level 1 (bench/README "Payloads deflated"). */
const DEFLATE = { level: 3, windowBits: 13, memLevel: 6 } as const;

/** A stored block carries at most this many bytes (its LEN field is 16 bits). */
const STORED_MAX = 0xffff;

/** A text's head, deflated up to a sync flush: `bytes` inflate to `text`, and a stream can go on after them. */
export interface DeflatedHead {
  text: string;
  bytes: Uint8Array;
}

/**
 * A head as it crosses to another thread beside the string it starts: its bytes and its text's
 * length. Its text is not sent again (a decision's payload is its largest string): the receiver
 * takes it back from the string it got (`headFromWire`).
 */
export interface HeadOnWire {
  bytes: Uint8Array;
  length: number;
}

/** `head` to send beside `text`; undefined when `text` does not start with the head's text (there is nothing to finish). */
export function headOnWire(head: DeflatedHead, text: string): HeadOnWire | undefined {
  return text.startsWith(head.text) ? { bytes: head.bytes, length: head.text.length } : undefined;
}

/** The head sent beside `text` (headOnWire), whole again: its text is the start of `text`. */
export function headFromWire(wire: HeadOnWire, text: string): DeflatedHead {
  return { text: text.slice(0, wire.length), bytes: wire.bytes };
}

/** The whole text's raw DEFLATE stream, in one go. */
export function deflateText(text: string): Buffer {
  return deflateRawSync(text, DEFLATE);
}

/** The head of a text, deflated so that a stream can be finished after it (finishDeflate). */
export function deflateHead(text: string): DeflatedHead {
  const out = deflateRawSync(text, { ...DEFLATE, finishFlush: constants.Z_SYNC_FLUSH });
  // Its own bytes: zlib's output may view a larger buffer, which would otherwise be copied whole into a message.
  return { text, bytes: new Uint8Array(out) };
}

/** The raw DEFLATE stream of `head`'s text followed by `rest`: the head's blocks, then `rest` (UTF-8) in stored blocks, the last one final. */
export function finishDeflate(head: Uint8Array, rest: string): Buffer {
  const tail = Buffer.from(rest, 'utf8');
  const blocks = Math.max(1, Math.ceil(tail.length / STORED_MAX));
  const out = Buffer.allocUnsafe(head.length + tail.length + 5 * blocks);
  out.set(head, 0);
  let at = head.length;
  for (let i = 0; i < blocks; i++) {
    const part = tail.subarray(i * STORED_MAX, (i + 1) * STORED_MAX);
    // BFINAL in the lowest bit, BTYPE 00 (stored) in the next two, the rest of the byte padding.
    out[at] = i === blocks - 1 ? 1 : 0;
    out.writeUInt16LE(part.length, at + 1);
    out.writeUInt16LE(~part.length & 0xffff, at + 3);
    out.set(part, at + 5);
    at += 5 + part.length;
  }
  return out;
}
