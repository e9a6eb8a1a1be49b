import { randomFillSync } from 'node:crypto';

/** Bytes of a payload's salt (entries, approvals, usage reports): what makes an erased payload's hash unguessable. */
export const SALT_BYTES = 16;

/** Random bytes drawn at once: one call to the CSPRNG serves this many salts. */
const POOL_BYTES = 4096;

let pool = Buffer.alloc(0);
let next = 0;

/**
 * A fresh salt from the CSPRNG. Drawn from a pool filled 4 KB at a time, as
 * `crypto.randomUUID` does, because one `randomBytes(16)` costs a call into
 * OpenSSL (about 2 µs here, 5 µs on a thread that just woke) and every
 * decision takes one. Each byte of the pool is handed out once; every salt is
 * its own buffer, never a view of the pool, so storing or transferring one
 * cannot expose or detach the rest.
 */
export function newSalt(): Buffer {
  if (next + SALT_BYTES > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_BYTES));
    next = 0;
  }
  const salt = Buffer.alloc(SALT_BYTES);
  pool.copy(salt, 0, next, next + SALT_BYTES);
  next += SALT_BYTES;
  return salt;
}
