import { createHash } from 'node:crypto';
import { canonicalJson } from '../lib/canonical.js';
import type { JsonObject } from '../lib/json.js';
import type { ChainHeader } from './header.js';

/**
 * What exactly is hashed (the canonical form, written next to the hash):
 *
 *   payload_hash = hex(SHA-256( salt(16 raw bytes) || UTF-8(JCS(payload)) ))
 *   entry_hash   = hex(SHA-256( prev_hash(32 raw bytes) || UTF-8(JCS(header)) ))
 *
 * JCS is RFC 8785 canonical JSON. `header` is a `ChainHeader` (ledger/header.ts,
 * the one definition of the header) — the header version `v`, every indexed column of the
 * entry (from version 2 on including its `kind`: decision or policy), seq, payload_hash and
 * prev_hash (hex). The first entry's prev_hash is 32 zero
 * bytes (GENESIS_HASH). Payloads sit in their own table so that a retention
 * job can erase one while its payload_hash, and so the chain, still verifies.
 */
export const GENESIS_HASH = '0'.repeat(64);

export function payloadHash(salt: Uint8Array, payloadJcs: string): string {
  return createHash('sha256').update(salt).update(payloadJcs, 'utf8').digest('hex');
}

export function entryHash(header: ChainHeader): string {
  return createHash('sha256').update(Buffer.from(header.prev_hash, 'hex')).update(canonicalJson(header), 'utf8').digest('hex');
}

export function canonicalPayload(payload: JsonObject): string {
  return canonicalJson(payload);
}
