import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { GavelError } from '../lib/errors.js';

/** Which file a path names: (device, inode). A deleted or replaced ledger file changes it. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

export function fileIdentity(path: string): FileIdentity | undefined {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** Why `path` no longer names the file opened as `opened`, or undefined while it still does. */
export function fileChanged(path: string, opened: FileIdentity): string | undefined {
  const now = fileIdentity(path);
  if (!now) return `ledger file ${path} was deleted while open`;
  if (now.dev !== opened.dev || now.ino !== opened.ino) return `ledger file ${path} was replaced while open`;
  return undefined;
}

/**
 * A signing key belongs to the ledger whose `meta.public_key` it matches. A key
 * next to a missing file, a file that holds no ledger, or another ledger means
 * the ledger vanished: starting would silently begin a new chain under the old
 * key (and `audit verify` would then say "ok: 0 entries"). Refuse, unless a
 * fresh ledger is intended (then only a missing or empty file is accepted).
 */
export function checkKeyMatchesLedger(ledgerPath: string, keyPath: string, newLedger: boolean): void {
  if (!existsSync(keyPath)) return;
  const stored = storedPublicKey(ledgerPath);
  if (stored === undefined) {
    if (newLedger) return;
    const state = existsSync(ledgerPath) ? 'is empty (no gavel ledger in it)' : 'does not exist';
    throw new GavelError(
      'ledger_missing',
      `signing key ${keyPath} exists but ledger ${ledgerPath} ${state}; refusing to start a new chain under an old key — restore the ledger, or pass --new-ledger if a fresh ledger is intended`,
    );
  }
  const key = createPublicKey(createPrivateKey(readFileSync(keyPath, 'utf8'))).export({ type: 'spki', format: 'pem' });
  if (String(key).trim() !== stored.trim()) {
    throw new GavelError('ledger_missing', `ledger ${ledgerPath} was not created with signing key ${keyPath}; pass the ledger's own key with --key`);
  }
}

function storedPublicKey(ledgerPath: string): string | undefined {
  if (!existsSync(ledgerPath)) return undefined;
  let db: Database.Database | undefined;
  try {
    db = new Database(ledgerPath, { readonly: true, fileMustExist: true });
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'public_key'`).get() as { value: string } | undefined;
    return row?.value;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/** The pid a running writer recorded in the ledger (for a refused writer's message). */
export function recordedWriterPid(ledgerPath: string): string | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(ledgerPath, { readonly: true, fileMustExist: true });
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'writer_pid'`).get() as { value: string } | undefined;
    return row?.value;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}
