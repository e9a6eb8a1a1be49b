import { sign, verify } from 'node:crypto';
import { keyId, type SigningKey, type VerifierKey } from './keys.js';

/**
 * A checkpoint commits to the ledger's size, its Merkle tree and its chain head at a time, as a
 * C2SP tlog-checkpoint signed note, so an auditor (or a witness) can keep copies off the machine:
 *
 *   <origin>\n<size>\n<base64(Merkle root)>\nchain <base64(head hash)>\ntime <RFC 3339>\n
 *   \n
 *   — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>\n
 *
 * The signature covers the body (every line, with its newline). The root is the RFC 9162 tree
 * hash of the first `size` entries (merkle.ts); the head hash is the entry_hash of entry `size`
 * (the hash chain's head), an extension line as C2SP allows. A checkpoint written before the
 * tree (no `chain` line) carries the head hash on line 3 and no root; it verifies as it did.
 */
export interface Checkpoint {
  origin: string;
  size: number;
  headHash: string;
  /** The Merkle root (hex); undefined in a checkpoint from before the tree. */
  rootHash?: string;
  time: string;
}

const SIG_PREFIX = '\u2014 ';

/** A ledger's checkpoint origin line, which is also its signing key's name. */
export function ledgerOrigin(ledgerId: string): string {
  return `gavel.ledger/${ledgerId}`;
}

const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

export function checkpointBody(c: Checkpoint): string {
  if (c.rootHash === undefined) return `${c.origin}\n${c.size}\n${b64(c.headHash)}\ntime ${c.time}\n`;
  return `${c.origin}\n${c.size}\n${b64(c.rootHash)}\nchain ${b64(c.headHash)}\ntime ${c.time}\n`;
}

export function signCheckpoint(c: Checkpoint, key: SigningKey): string {
  const body = checkpointBody(c);
  const signature = sign(null, Buffer.from(body), key.privateKey);
  const blob = Buffer.concat([keyId(key.name, key.publicKey), signature]).toString('base64');
  return `${body}\n${SIG_PREFIX}${key.name} ${blob}\n`;
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

export function parseCheckpoint(note: string): { checkpoint: Checkpoint; body: string; signatures: Array<{ name: string; blob: Buffer }> } {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new CheckpointError('checkpoint has no signature block');
  const body = note.slice(0, split + 1);
  const lines = body.split('\n');
  const [origin, sizeText, line3] = lines;
  const size = Number(sizeText);
  if (!origin || !Number.isSafeInteger(size) || size < 0 || !line3) throw new CheckpointError('checkpoint body is malformed');
  const extension = (name: string) => lines.find((l, i) => i >= 3 && l.startsWith(`${name} `))?.slice(name.length + 1);
  const hash32 = (text: string, what: string) => {
    const hex = Buffer.from(text, 'base64').toString('hex');
    if (hex.length !== 64) throw new CheckpointError(`checkpoint ${what} is not 32 bytes`);
    return hex;
  };
  // With a `chain` line, line 3 is the Merkle root (C2SP); without, a checkpoint from before the tree: the head hash.
  const chain = extension('chain');
  const headHash = hash32(chain ?? line3, 'head hash');
  const rootHash = chain === undefined ? undefined : hash32(line3, 'root hash');
  const time = extension('time') ?? '';
  const signatures = note
    .slice(split + 2)
    .split('\n')
    .filter((l) => l.startsWith(SIG_PREFIX))
    .map((l) => {
      const [name, b64] = l.slice(SIG_PREFIX.length).split(' ');
      return { name: name ?? '', blob: Buffer.from(b64 ?? '', 'base64') };
    });
  return { checkpoint: { origin, size, headHash, ...(rootHash !== undefined ? { rootHash } : {}), time }, body, signatures };
}

/** Checks that `note` carries a valid signature by `key`; returns the checkpoint. */
export function verifyCheckpoint(note: string, key: VerifierKey): Checkpoint {
  const { checkpoint, body, signatures } = parseCheckpoint(note);
  const mine = signatures.find((s) => s.name === key.name && s.blob.length === 68 && s.blob.subarray(0, 4).equals(key.keyId));
  if (!mine) throw new CheckpointError(`checkpoint at size ${checkpoint.size} has no signature by ${key.name}`);
  if (!verify(null, Buffer.from(body), key.publicKey, mine.blob.subarray(4))) {
    throw new CheckpointError(`checkpoint at size ${checkpoint.size} has an invalid signature`);
  }
  return checkpoint;
}
