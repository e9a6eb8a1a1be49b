import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { verifyCheckpoint } from '../../src/ledger/checkpoint.js';
import { parseVerifierKey } from '../../src/ledger/keys.js';
import { clients, jsonInput, stream, unary } from '../helpers/client.js';
import { FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { runCli, startChild, type ChildServer } from '../helpers/server.js';
import { ECHO, echoInput } from './fixtures.js';

/**
 * `gavel serve` as a child process under concurrent Decide load. An answer leaves
 * only after its entry committed, so every answer a client received must be in
 * the ledger after a SIGKILL, and after a SIGTERM the ledger is complete and
 * covered by a final checkpoint.
 */
interface Received {
  id: string;
  seq: number;
  hash: string;
}

const WORKERS = 8;
const MAX_CALLS = 3000;
const MAX_MS = 10_000;

/** 8 workers deciding in a loop until a call fails, or MAX_CALLS / MAX_MS; `reached` resolves at `target` answers. */
function load(address: string, target: number) {
  const c = clients(address);
  const received: Received[] = [];
  let calls = 0;
  let failures = 0;
  let reach: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const deadline = Date.now() + MAX_MS;
  const worker = async (w: number) => {
    while (calls < MAX_CALLS && Date.now() < deadline) {
      calls++;
      const decision = calls % 5 === 0 ? 'deny' : 'allow';
      try {
        const res = await unary(c.decision, 'Decide', {
          policy: ECHO,
          request_id: `w${w}-${calls}`,
          ...jsonInput(echoInput({ subject: `worker-${w}`, decision, reasons: [{ code: `code_${decision}`, effect: decision }] })),
        });
        received.push({ id: res.decision_id, seq: Number(res.receipt.seq), hash: res.receipt.entry_hash });
        if (received.length >= target) reach();
      } catch {
        failures++;
        return;
      }
    }
  };
  const done = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w))).then(() => {
    reach();
    c.close();
    return { calls, failures };
  });
  return { received, reached, done };
}

const serve = (ledger: string, ...extra: string[]) => startChild(['--bundles', FIXTURE_BUNDLES, '--ledger', ledger, ...extra]);

function ledgerRows(ledger: string) {
  const db = new Database(ledger, { readonly: true });
  try {
    const entries = db.prepare('SELECT seq, decision_id, entry_hash, prev_hash FROM entries ORDER BY seq').all() as Array<{
      seq: number;
      decision_id: string;
      entry_hash: string;
      prev_hash: string;
    }>;
    const checkpoint = db.prepare('SELECT size, head_hash, note FROM checkpoints ORDER BY size DESC LIMIT 1').get() as
      | { size: number; head_hash: string; note: string }
      | undefined;
    return { entries, checkpoint };
  } finally {
    db.close();
  }
}

function expectAllRecorded(received: Received[], entries: Array<{ seq: number; decision_id: string; entry_hash: string }>): void {
  expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
  const byId = new Map(entries.map((e) => [e.decision_id, e]));
  const missing = received.filter((r) => byId.get(r.id)?.seq !== r.seq || byId.get(r.id)?.entry_hash !== r.hash);
  expect(missing).toEqual([]);
  expect(new Set(received.map((r) => r.seq)).size).toBe(received.length);
}

async function stopGracefully(s: ChildServer): Promise<number | null> {
  s.child.kill('SIGTERM');
  return s.exited;
}

/** The ledger written on the serving thread's connection (the default), and by its own writer thread (--ledger-thread). */
const WRITER_THREAD = ['--ledger-thread'];
const MODES = [
  { mode: 'on the serving thread', flags: [] as string[] },
  { mode: 'by its writer thread', flags: WRITER_THREAD },
];

describe.each(MODES)('gavel serve killed and restarted, the ledger written $mode', ({ flags }) => {
  it('SIGKILL mid-load loses no answered decision; the restarted server continues the chain and it verifies', async () => {
    const ledger = join(tempDir('gavel-crash-'), 'ledger.db');
    const first = await serve(ledger, ...flags);
    expect(first.lines.some((l) => l.includes('"gavel serving"') && l.includes(`"ledger_thread":${flags.length > 0}`))).toBe(true);
    let killed = false;
    try {
      const run = load(first.address, 300);
      await run.reached;
      killed = first.child.kill('SIGKILL');
      const [{ failures }, code] = await Promise.all([run.done, first.exited]);
      expect(killed).toBe(true);
      expect(code).toBeNull();
      expect(first.child.signalCode).toBe('SIGKILL');
      expect(run.received.length).toBeGreaterThanOrEqual(300);
      expect(failures).toBeGreaterThan(0);

      // Restarted the other way: the file carries on whichever thread wrote it.
      const second = await serve(ledger, ...(flags.length === 0 ? WRITER_THREAD : []));
      try {
        const serving = JSON.parse(second.lines.find((l) => l.includes('"gavel serving"'))!) as { ledger_size: number; ledger_thread: boolean };
        expect(serving.ledger_thread).toBe(flags.length === 0);
        expect(serving.ledger_size).toBeGreaterThanOrEqual(run.received.length);
        const c = clients(second.address);
        try {
          const listed = await stream(c.audit, 'QueryDecisions', { limit: 100_000, ascending: true });
          expect(listed).toHaveLength(serving.ledger_size);
          expectAllRecorded(
            run.received,
            listed.map((e) => ({ seq: Number(e.seq), decision_id: e.decision_id, entry_hash: e.entry_hash })),
          );
          const next = await unary(c.decision, 'Decide', { policy: ECHO, ...jsonInput(echoInput({ subject: 'after-restart' })) });
          expect(Number(next.receipt.seq)).toBe(serving.ledger_size + 1);
          const verified = await unary(c.audit, 'Verify', {});
          expect(verified).toMatchObject({ ok: true, entries: serving.ledger_size + 1, head_hash: next.receipt.entry_hash });
        } finally {
          c.close();
        }
        expect(await stopGracefully(second)).toBe(0);
      } finally {
        second.child.kill('SIGKILL');
      }
      const { entries } = ledgerRows(ledger);
      expectAllRecorded(run.received, entries);
      const res = await runCli(['audit', 'verify', '--ledger', ledger]);
      expect(res.stdout).toMatch(new RegExp(`^ok: ${entries.length} entries, head ${entries.at(-1)!.entry_hash}`));
      expect(res.code).toBe(0);
    } finally {
      first.child.kill('SIGKILL');
    }
  });
});

describe.each(MODES)('gavel serve stopped with SIGTERM under load, the ledger written $mode', ({ flags }) => {
  it('exits 0, every answered decision is recorded, and a final checkpoint covers the whole ledger', async () => {
    const ledger = join(tempDir('gavel-term-'), 'ledger.db');
    const server = await serve(ledger, '--durability', 'full', ...flags);
    expect(server.lines.some((l) => l.includes('"gavel serving"') && l.includes(`"ledger_thread":${flags.length > 0}`))).toBe(true);
    try {
      const run = load(server.address, 200);
      await run.reached;
      server.child.kill('SIGTERM');
      const [, code] = await Promise.all([run.done, server.exited]);
      expect(code).toBe(0);
      expect(run.received.length).toBeGreaterThanOrEqual(200);

      const stopped = server.lines
        .filter((l) => l.includes('"stopped"'))
        .map((l) => JSON.parse(l) as { msg: string; ledger_size?: number })
        .find((l) => l.msg === 'stopped');
      const { entries, checkpoint } = ledgerRows(ledger);
      expect(stopped?.ledger_size).toBe(entries.length);
      expectAllRecorded(run.received, entries);
      expect(checkpoint).toBeDefined();
      expect(checkpoint!.size).toBe(entries.length);
      expect(checkpoint!.head_hash).toBe(entries.at(-1)!.entry_hash);

      const pubkey = await runCli(['audit', 'pubkey', '--ledger', ledger]);
      expect(verifyCheckpoint(checkpoint!.note, parseVerifierKey(pubkey.stdout))).toMatchObject({ size: entries.length, headHash: entries.at(-1)!.entry_hash });
      const exported = await runCli(['audit', 'checkpoint', '--ledger', ledger]);
      expect(exported.stdout).toBe(checkpoint!.note);
      const res = await runCli(['audit', 'verify', '--ledger', ledger]);
      expect(res.stdout).toMatch(new RegExp(`^ok: ${entries.length} entries`));
      expect(res.code).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});
