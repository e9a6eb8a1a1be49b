import { v7 } from 'uuid';
import { newSalt } from './salt.js';

/** The last id's millisecond and counter (RFC 9562 §6.2, method 1), kept here because the random bytes are ours. */
const last = { msecs: Number.NEGATIVE_INFINITY, seq: 0 };

/**
 * A new ledger entry's id (a decision's id, or a policy, approval, usage or state event's):
 * a UUID version 7 (RFC 9562), whose first 48 bits are the time in milliseconds and the rest
 * random (74 bits). The ledger, the usage charges and the request rows are keyed by it, and a
 * time-ordered key lands beside the last one written: a commit then writes the same B-tree page
 * for every entry it holds instead of one random page per entry and index, and a lookup of a
 * recent decision (a report settling its usage) reads pages already in the cache. Approval ids,
 * which approvers act on, stay fully random (crypto.randomUUID).
 *
 * The random bytes come from the pooled CSPRNG draw salts use (salt.ts): uuid's own v7() asks
 * `crypto.getRandomValues` for 16 bytes per id, 2.4 µs against 0.4 µs so. Given its bytes, v7()
 * keeps no state, so the counter that orders ids made in one millisecond is kept here, as v7()
 * keeps it: a random 31-bit start each new millisecond, one up per id, the millisecond moved on
 * if it wraps.
 */
export function newEntryId(): string {
  const random = newSalt();
  const now = Date.now();
  if (now > last.msecs) {
    last.msecs = now;
    last.seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    last.seq = (last.seq + 1) | 0;
    if (last.seq === 0) last.msecs++;
  }
  return v7({ random, msecs: last.msecs, seq: last.seq });
}
