import { v7 } from 'uuid';

/**
 * A new ledger entry's id (a decision's id, or a policy, approval, usage or state event's):
 * a UUID version 7 (RFC 9562), whose first 48 bits are the time in milliseconds and the rest
 * random (74 bits). The ledger, the usage charges and the request rows are keyed by it, and a
 * time-ordered key lands beside the last one written: a commit then writes the same B-tree page
 * for every entry it holds instead of one random page per entry and index, and a lookup of a
 * recent decision (a report settling its usage) reads pages already in the cache. Approval ids,
 * which approvers act on, stay fully random (crypto.randomUUID).
 */
export function newEntryId(): string {
  return v7();
}
