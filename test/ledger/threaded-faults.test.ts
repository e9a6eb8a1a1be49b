import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerConfig, type LedgerConfig } from '../../src/ledger/config.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { ThreadedLedger, type LedgerReader } from '../../src/ledger/threaded.js';
import { tempDir } from '../helpers/paths.js';
import { sampleRecord } from './fixtures.js';
import { writerExit } from './writer-thread.js';

/**
 * What this thread does when its ledger writer misbehaves (issue 30's writer thread): a thread that
 * dies or says something else before it is ready, one that fails or stops answering while calls
 * and appends wait, one that answers a call with another op, one whose close fails. The writer is
 * test/ledger/children/scripted-writer.mjs, which speaks the protocol by a script: a real writer
 * cannot be made to show these on demand (test/ledger/threaded.test.ts drives the real one).
 */
const SCRIPTED = new URL('./children/scripted-writer.mjs', import.meta.url);

function scripted(scenario: string): LedgerConfig {
  return { ...ledgerConfig(join(tempDir(), 'ledger.db')), scenario } as LedgerConfig;
}

/** Read sides and ledgers a test opened, closed after it whether it passed or not. */
const readers: LedgerReader[] = [];
const ledgers: ThreadedLedger[] = [];
afterEach(async () => {
  // A close that hangs (the fault some test is about) fails that test, not every one after it.
  for (const ledger of ledgers.splice(0)) await Promise.race([ledger.close().catch(() => undefined), seconds(5)]);
  for (const r of readers.splice(0)) if (r.db.open) r.db.close();
});

/** A read side for a scripted writer, which opens no file. */
function reader(): LedgerReader {
  const r = { db: new Database(':memory:'), key: { name: 'scripted', publicKey: generateKeyPairSync('ed25519').publicKey } };
  readers.push(r);
  return r;
}

async function open(scenario: string): Promise<ThreadedLedger> {
  const ledger = await ThreadedLedger.open(scripted(scenario), { entry: SCRIPTED, reader: reader() });
  ledgers.push(ledger);
  return ledger;
}

const seconds = (n: number) => new Promise((resolve) => setTimeout(resolve, n * 1000));

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value }),
    (err: unknown) => ({ err: err as Error & { code?: string } }),
  );

describe('a ledger writer thread that misbehaves', () => {
  it('one that fails, stops or says something else before it is ready: open is refused with why', async () => {
    await expect(ThreadedLedger.open(scripted('throw-at-start'), { entry: SCRIPTED, reader: reader() })).rejects.toThrow('the scripted writer failed at start');
    await expect(ThreadedLedger.open(scripted('exit-at-start'), { entry: SCRIPTED, reader: reader() })).rejects.toThrow(
      "the ledger's writer thread stopped (exit code 3) before it opened the ledger",
    );
    await expect(ThreadedLedger.open(scripted('health-first'), { entry: SCRIPTED, reader: reader() })).rejects.toThrow(
      "the ledger's writer thread said health first",
    );
    await expect(ThreadedLedger.open(scripted('refused-at-start'), { entry: SCRIPTED, reader: reader() })).rejects.toMatchObject({
      code: 'ledger_in_use',
      message: 'held by pid 1',
    });
    // Ready, but its file cannot be read here: refused, not a ledger without a reader.
    await expect(ThreadedLedger.open(scripted('ready'), { entry: SCRIPTED })).rejects.toThrow('unable to open database file');
    const notALedger = scripted('ready');
    new Database(notALedger.path).close();
    await expect(ThreadedLedger.open(notALedger, { entry: SCRIPTED })).rejects.toThrow('no such table: meta');
  });

  it('a thread that cannot start in takeOver closes the connection it was handed', async () => {
    const config = scripted('exit-at-start');
    const ledger = new SqliteLedger(config);
    await expect(ThreadedLedger.takeOver(ledger, config, { entry: SCRIPTED })).rejects.toThrow('exit code 3');
    expect(ledger.db.open).toBe(false);
  });

  it('a thread that fails while calls and appends wait: each is refused with why, and health says the first reason', async () => {
    const ledger = await open('silent');
    const exited = writerExit(ledger);
    const health: Array<{ ok: boolean; reason?: string }> = [];
    ledger.onHealthChange((h) => health.push(h));
    const appended = settle(ledger.append(sampleRecord({ decisionId: 'waits' })));
    const rows = settle(ledger.writeRows([{ sql: 'SELECT 1', params: [] }]));
    const checkpoint = settle(ledger.checkpoint());
    const failed = "the ledger's writer thread failed: the scripted writer broke on a checkpoint";
    for (const outcome of [await rows, await checkpoint]) expect(outcome).toMatchObject({ err: { code: 'ledger_unavailable', message: failed } });
    expect(await appended).toMatchObject({ err: { code: 'ledger_unavailable', message: expect.stringContaining(failed) } });
    // The thread exits after it failed: still the first reason, told once.
    await exited;
    expect(ledger.health).toEqual({ ok: false, reason: failed });
    expect(health).toEqual([{ ok: false, reason: failed }]);
    await expect(ledger.checkpoint()).rejects.toMatchObject({ message: failed });
    await ledger.close();
  });

  it('a call answered with another op is refused, not taken for its answer', async () => {
    const ledger = await open('wrong-op');
    await expect(ledger.checkpoint()).rejects.toThrow("the ledger's writer answered rows to checkpoint");
    await expect(ledger.erase({ criteria: { subject: 'bob' }, reason: 'asked', basis: 'gdpr-art17', by: 'dpo' })).rejects.toThrow(
      "the ledger's writer answered rows to erase",
    );
    await expect(ledger.writeRows([])).rejects.toThrow("the ledger's writer answered checkpoint to rows");
    expect(() => ledger.extraNow('repair', {})).toThrow("the ledger's writer answered checkpoint to repair");
    await ledger.close();
  });

  it('a writer that dies in its close still lets close finish: shutdown does not hang on it', async () => {
    const ledger = await open('exit-on-close');
    expect(await Promise.race([ledger.close().then(() => 'closed'), seconds(5).then(() => 'still closing after 5 s')])).toBe('closed');
    await expect(ledger.checkpoint()).rejects.toMatchObject({ code: 'ledger_unavailable', message: 'the ledger is closed' });
  });

  it('a close the writer could not finish is refused, and this side’s reader is closed all the same', async () => {
    const read = reader();
    const ledger = await ThreadedLedger.open(scripted('close-fails'), { entry: SCRIPTED, reader: read });
    await expect(ledger.close()).rejects.toMatchObject({ code: 'ledger_unavailable', message: 'the last checkpoint could not be signed' });
    expect(read.db.open).toBe(false);
  });
});
