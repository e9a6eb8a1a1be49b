import { open } from 'node:fs/promises';

/**
 * fsyncs a database's write-ahead log in libuv's threadpool, off the event loop: when it resolves,
 * every frame written to the WAL before the call is on disk (on Linux, fsync through any handle on
 * the file flushes all of its written pages). Frames a checkpoint already copied into the database
 * were synced there by SQLite before the WAL could be reused.
 */
export async function syncWal(databasePath: string): Promise<void> {
  const wal = await open(`${databasePath}-wal`, 'r');
  try {
    await wal.sync();
  } finally {
    await wal.close();
  }
}
