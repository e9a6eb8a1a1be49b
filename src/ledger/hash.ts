import { createHash } from 'node:crypto';
import { canonicalJson } from '../lib/canonical.js';
import type { JsonObject } from '../lib/json.js';
import type { ChainHeader } from './header.js';
import { leafHash, type Hash } from './merkle.js';

/**
 * What exactly is hashed (the canonical form, written next to the hash):
 *
 *   payload_hash = hex(SHA-256( salt(16 raw bytes) || UTF-8(JCS(payload)) ))
 *   entry_hash   = hex(SHA-256( prev_hash(32 raw bytes) || UTF-8(JCS(header)) ))
 *   leaf hash    = SHA-256( 0x00 || UTF-8(JCS(header)) )          (the entry's leaf in the Merkle tree, merkle.ts)
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

/** The canonical text of a header: the bytes both the chain hash and the entry's Merkle leaf commit to. */
export function headerText(header: ChainHeader): string {
  return canonicalJson(header);
}

export function entryHash(header: ChainHeader, text = headerText(header)): string {
  return createHash('sha256').update(Buffer.from(header.prev_hash, 'hex')).update(text, 'utf8').digest('hex');
}

/**
 * The entry's leaf hash in the ledger's Merkle tree: its header's canonical text, the same bytes the
 * chain hashes (prev_hash among them), so the tree commits to everything the chain does and an
 * inclusion proof needs the header alone.
 */
export function entryLeafHash(header: ChainHeader, text = headerText(header)): Hash {
  return leafHash(Buffer.from(text, 'utf8'));
}

export function canonicalPayload(payload: JsonObject): string {
  return canonicalJson(payload);
}
