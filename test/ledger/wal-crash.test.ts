import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { ledgerConfig } from '../../src/ledger/config.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { ROOT, tempDir } from '../helpers/paths.js';
import { walGeneration } from './fixtures.js';

const APPENDER = join(ROOT, 'test/ledger/children/appender.ts');
const ROUNDS = 4;
/** Answers each round waits for before its kill (then up to 15 ms more, so the kill lands at a different point each time). */
const ACKED = 1500;

interface Ack {
  id: string;
  seq: number;
  hash: string;
}

/** One round: the appender runs until ACKED answers, then is killed with SIGKILL; resolves with what it answered. */
async function killedRound(file: string, round: number): Promise<Ack[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', APPENDER, file, String(round)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const acks: Ack[] = [];
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    for await (const line of createInterface({ input: child.stdout! })) {
      if (line === 'ready') continue;
      const [id, seq, hash] = line.split(' ');
      acks.push({ id: id!, seq: Number(seq), hash: hash! });
      if (acks.length === ACKED) {
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 15));
      }
    }
  } finally {
    clearTimeout(timer);
  }
  expect({ signal: await exited, stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
  return acks;
}

/**
 * The WAL limit's RESTART (src/ledger/wal-checkpointer.ts) rewinds the WAL while the writer waits, and the
 * writer's `journal_size_limit` truncates the file: two moments a crash could catch that a PASSIVE copy
 * never had. With a 32 KB limit and a round every 2 ms the WAL starts over many times a second, so a
 * SIGKILL at an arbitrary point lands during or between restarts; every answered append must survive
 * it, the chain must verify, and the next run must carry the chain on.
 */
it('SIGKILLs while the WAL starts over again and again lose no answered append, and the chain verifies after each', async () => {
  const file = join(tempDir('gavel-wal-crash-'), 'ledger.db');
  const answered: Ack[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const acks = await killedRound(file, round);
    expect(acks.length).toBeGreaterThanOrEqual(ACKED);
    // The WAL started over at least three times in this round (its counter starts again with each new WAL file).
    expect(existsSync(`${file}-wal`)).toBe(true);
    expect(walGeneration(`${file}-wal`)).toBeGreaterThanOrEqual(3);
    answered.push(...acks);

    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT seq, decision_id AS id, entry_hash AS hash FROM entries ORDER BY seq').all() as Ack[];
    db.close();
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(answered.filter((a) => byId.get(a.id)?.seq !== a.seq || byId.get(a.id)?.hash !== a.hash)).toEqual([]);

    const ledger = new SqliteLedger(ledgerConfig(file));
    try {
      const verified = await ledger.verify();
      expect(verified).toMatchObject({ ok: true, entries: rows.length });
    } finally {
      await ledger.close();
    }
  }
}, 120_000);
