import { sign, verify } from 'node:crypto';
import { GavelError } from '../lib/errors.js';
import { COSIGNATURE_ALG, keyId, parseVerifierKey, type SigningKey, type VerifierKey } from './keys.js';

/**
 * Witness cosignatures, C2SP tlog-cosignature v1 (Ed25519, signature type 0x04): a witness
 * vouches that, as of `time`, this checkpoint is the largest consistent tree it has seen for the
 * log. The signed message is
 *
 *   cosignature/v1\ntime <unix seconds>\n<the checkpoint's note text, with its final newline>
 *
 * and the note signature line is `— <witness name> base64(key id(4) ‖ time(8, big-endian) ‖ signature(64))`,
 * the key id being SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]; its verifier key reads
 * `<name>+<hex key id>+<base64(0x04 ‖ public key)>` (ledger/keys.ts with COSIGNATURE_ALG).
 */
const SIG_PREFIX = '\u2014 ';

function message(body: string, timeSeconds: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timeSeconds}\n${body}`, 'utf8');
}

/** The cosignature line (with its newline) of `key` over a checkpoint's note text. */
export function cosign(body: string, key: SigningKey, timeSeconds: number): string {
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(timeSeconds));
  const signature = sign(null, message(body, timeSeconds), key.privateKey);
  return `${SIG_PREFIX}${key.name} ${Buffer.concat([keyId(key.name, key.publicKey, COSIGNATURE_ALG), time, signature]).toString('base64')}\n`;
}

export interface VerifiedCosignature {
  witness: string;
  timeSeconds: number;
}

/**
 * The cosignatures of known witnesses over this checkpoint body among `lines` (signature lines of
 * the note). A line of a known witness whose signature fails throws: a note carrying a forged
 * cosignature is refused whole, as C2SP signed-note asks of a known key's bad signature.
 */
export function verifiedCosignatures(body: string, lines: readonly string[], witnesses: readonly VerifierKey[]): VerifiedCosignature[] {
  const out: VerifiedCosignature[] = [];
  const counted = new Set<VerifierKey>();
  for (const line of lines) {
    const found = checkLine(body, line, witnesses);
    if (!found) continue;
    if (!found.ok) throw new Error(`the cosignature of ${found.witness.name} does not verify`);
    // Counted once per key: two witnesses may share a name, and one witness may carry two lines.
    if (!counted.has(found.witness)) out.push({ witness: found.witness.name, timeSeconds: found.timeSeconds });
    counted.add(found.witness);
  }
  return out;
}

/** A line of one of `witnesses` (by name and key id): whether its signature verifies over `body`; undefined for any other line. */
function checkLine(body: string, line: string, witnesses: readonly VerifierKey[]): { witness: VerifierKey; timeSeconds: number; ok: boolean } | undefined {
  if (!line.startsWith(SIG_PREFIX)) return undefined;
  const [name, b64] = line.slice(SIG_PREFIX.length).split(' ');
  const blob = Buffer.from(b64 ?? '', 'base64');
  const witness = witnesses.find((w) => w.name === name && blob.length === 76 && blob.subarray(0, 4).equals(w.keyId));
  if (!witness) return undefined;
  const timeSeconds = Number(blob.readBigUInt64BE(4));
  return { witness, timeSeconds, ok: verify(null, message(body, timeSeconds), witness.publicKey, blob.subarray(12)) };
}

/** The first of `lines` that is `key`'s cosignature over `body` and verifies (with its newline); undefined when none. */
export function cosignatureLineOf(body: string, lines: readonly string[], key: VerifierKey): string | undefined {
  const line = lines.find((l) => checkLine(body, l, [key])?.ok === true);
  return line === undefined ? undefined : `${line}\n`;
}

/** A witness key read from its C2SP vkey text; a key that cannot be read is a configuration error. */
export function witnessKey(text: string, code: 'config_invalid' | 'invalid_witness_requirement' = 'config_invalid'): VerifierKey {
  try {
    return parseVerifierKey(text.trim(), COSIGNATURE_ALG);
  } catch (err) {
    throw new GavelError(code, `a witness key cannot be read (${(err as Error).message}): give the line \`gavel witness pubkey\` prints`);
  }
}

/** How a witness's cosignatures are kept apart: its name and key id (a witness may rotate its key under one name). */
export function witnessId(key: VerifierKey): string {
  return `${key.name}+${key.keyId.toString('hex')}`;
}

/** What `verify --witness-key … --min-witnesses N` asks, read and checked: the keys (C2SP vkey text) and how many must cosign. */
export function witnessRequirement(keyTexts: readonly string[], min: number): { keys: VerifierKey[]; min: number } {
  const keys = keyTexts.map((text) => witnessKey(text, 'invalid_witness_requirement'));
  if (!Number.isSafeInteger(min) || min < 1 || min > keys.length) {
    throw new GavelError('invalid_witness_requirement', `min witnesses must be between 1 and the ${keys.length} witness keys given, not ${min}`);
  }
  return { keys, min };
}
