import { sign, verify } from 'node:crypto';
import { keyId, type SigningKey, type VerifierKey } from './keys.js';

/**
 * A checkpoint commits to the ledger's size and head hash at a time, as a
 * signed note in the layout of C2SP tlog-checkpoint, so an auditor can keep
 * copies off the machine:
 *
 *   <origin>\n<size>\n<base64(head hash)>\ntime <RFC 3339>\n
 *   \n
 *   — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>\n
 *
 * The signature covers the body (the first four lines, with their newlines).
 * The head hash is the entry_hash of entry `size` (the hash chain head); a
 * Merkle root can join it later as an extension line.
 */
export interface Checkpoint {
  origin: string;
  size: number;
  headHash: string;
  time: string;
}

const SIG_PREFIX = '\u2014 ';

/** A ledger's checkpoint origin line, which is also its signing key's name. */
export function ledgerOrigin(ledgerId: string): string {
  return `gavel.ledger/${ledgerId}`;
}

export function checkpointBody(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${Buffer.from(c.headHash, 'hex').toString('base64')}\ntime ${c.time}\n`;
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
  const [origin, sizeText, rootText, timeLine] = lines;
  const size = Number(sizeText);
  if (!origin || !Number.isSafeInteger(size) || size < 0 || !rootText) throw new CheckpointError('checkpoint body is malformed');
  const headHash = Buffer.from(rootText, 'base64').toString('hex');
  if (headHash.length !== 64) throw new CheckpointError('checkpoint head hash is not 32 bytes');
  const time = timeLine?.startsWith('time ') ? timeLine.slice(5) : '';
  const signatures = note
    .slice(split + 2)
    .split('\n')
    .filter((l) => l.startsWith(SIG_PREFIX))
    .map((l) => {
      const [name, b64] = l.slice(SIG_PREFIX.length).split(' ');
      return { name: name ?? '', blob: Buffer.from(b64 ?? '', 'base64') };
    });
  return { checkpoint: { origin, size, headHash, time }, body, signatures };
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
