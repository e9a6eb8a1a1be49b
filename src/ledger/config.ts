import { oneOf, positiveInt } from '../lib/config.js';
import { stripUndefined } from '../lib/config.js';
import { GavelError } from '../lib/errors.js';

export type Durability = 'normal' | 'full';

export interface LedgerConfig {
  /** SQLite file; ":memory:" for tests. */
  path: string;
  /**
   * normal: WAL + synchronous=NORMAL — a committed entry survives the process being killed
   *         (it is in the WAL, handed to the OS) but the last transactions may be lost on power loss.
   * full:   WAL + synchronous=FULL — every commit is fsynced before the answer leaves; survives power loss.
   */
  durability: Durability;
  /** Most entries written in one group-commit transaction. */
  maxBatch: number;
  /** Sign a checkpoint after this many new entries ... */
  checkpointEvery: number;
  /** ... or after this many seconds when there are new entries (and always on close). */
  checkpointSeconds: number;
  /** Ed25519 private key (PKCS#8 PEM); created on first start. Default: <path>.key. */
  keyPath?: string;
  /** How long a write waits for another connection's lock before failing (UNAVAILABLE). */
  busyTimeoutMs: number;
  /**
   * A fresh ledger is intended: without it, a signing key that exists next to a
   * missing or empty ledger file refuses to start (a vanished ledger must not be
   * silently restarted under the same key).
   */
  newLedger: boolean;
  /** How often the writer checks that its path still names the file it has open. */
  fileCheckMs: number;
  /** How often the background thread checkpoints the WAL into the database file. */
  walCheckpointMs: number;
  /**
   * Past this many bytes in the WAL, the background checkpoint makes the writer start it over
   * (wal-checkpointer.ts), and the file is trimmed back to this size: under steady load the WAL
   * would otherwise grow without bound.
   */
  walLimitBytes: number;
  /**
   * SQLite page size of a new ledger file (an existing file keeps its own). A one-entry commit writes a
   * page of each B-tree it touches, about 21 of them: at 2048 bytes a lone decision's COMMIT copies half
   * the bytes SQLite's default 4096 would, for the same audit query times (bench/README, issue 30).
   */
  pageSize: number;
  /**
   * A served file ledger is written by a thread of its own (threaded.ts): the serving thread sends it
   * records and reads what it committed, and spends no time in SQLite's inserts and commits. Off by
   * default: on a small machine the hand-offs cost a lone decision more than the thread saves
   * (bench/README, issue 30). Refused for a ledger in memory.
   */
  thread: boolean;
}

export const LEDGER_DEFAULTS: Omit<LedgerConfig, 'path'> = {
  durability: 'normal',
  maxBatch: 1024,
  checkpointEvery: 1000,
  checkpointSeconds: 10,
  busyTimeoutMs: 5000,
  newLedger: false,
  fileCheckMs: 1000,
  walCheckpointMs: 1000,
  walLimitBytes: 64 * 1024 * 1024,
  pageSize: 2048,
  thread: false,
};

export function ledgerConfig(path: string, overrides: Partial<Omit<LedgerConfig, 'path'>> = {}): LedgerConfig {
  const c: LedgerConfig = { ...LEDGER_DEFAULTS, ...stripUndefined(overrides), path };
  oneOf('ledger.durability', c.durability, ['normal', 'full'] as const);
  positiveInt('ledger.maxBatch', c.maxBatch);
  positiveInt('ledger.checkpointEvery', c.checkpointEvery);
  positiveInt('ledger.checkpointSeconds', c.checkpointSeconds);
  positiveInt('ledger.busyTimeoutMs', c.busyTimeoutMs);
  positiveInt('ledger.fileCheckMs', c.fileCheckMs);
  positiveInt('ledger.walCheckpointMs', c.walCheckpointMs);
  positiveInt('ledger.walLimitBytes', c.walLimitBytes);
  if (!Number.isInteger(c.pageSize) || c.pageSize < 512 || c.pageSize > 65536 || (c.pageSize & (c.pageSize - 1)) !== 0)
    throw new GavelError('config_invalid', `config ledger.pageSize must be a power of two from 512 to 65536, got ${JSON.stringify(c.pageSize)}`);
  if (c.thread && path === ':memory:')
    throw new GavelError('config_invalid', 'config ledger.thread needs a ledger file: a ledger in memory cannot be written from another thread');
  return c;
}

export function defaultKeyPath(c: LedgerConfig): string | undefined {
  if (c.keyPath) return c.keyPath;
  return c.path === ':memory:' ? undefined : `${c.path}.key`;
}
