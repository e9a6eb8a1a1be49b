import { copyFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/runtime.js';
import { startServer } from '../../src/transport/server.js';
import { clients, unary, unaryError } from '../helpers/client.js';
import { eventually, healthClient } from '../helpers/health.js';
import { tempDir } from '../helpers/paths.js';
import { coreOptions, echoInput } from '../ledger/fixtures.js';

/** Health says SERVING only while answers can be recorded; the server recovers without a restart. */
async function serving(ledgerFaults = {}) {
  const dir = tempDir();
  const file = join(dir, 'ledger.db');
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  // The runtime logs the ledger's health changes: it gets the log the test reads.
  const core = await startRuntime({ ...coreOptions(file, { ledgerOptions: { fileCheckMs: 200 } }), ledgerFaults, logger: log });
  const server = await startServer(core, { listen: '127.0.0.1:0', log });
  const address = `127.0.0.1:${server.port}`;
  const c = clients(address);
  const h = healthClient(address);
  const decide = (subject: string) => unary(c.decision, 'Decide', { input_json: Buffer.from(JSON.stringify(echoInput({ subject }))) });
  const decideError = (subject: string) => unaryError(c.decision, 'Decide', { input_json: Buffer.from(JSON.stringify(echoInput({ subject }))) });
  return {
    dir,
    file,
    core,
    lines,
    decide,
    decideError,
    health: h,
    stop: async () => {
      c.close();
      h.close();
      await server.shutdown(1000);
      await core.stop();
    },
  };
}

describe('ledger health', () => {
  it('failing appends answer UNAVAILABLE and report NOT_SERVING until an append succeeds again', async () => {
    const disk = { full: false };
    const s = await serving({
      beforeCommit: () => {
        if (disk.full) throw new Error('SQLITE_FULL: database or disk is full');
      },
    });
    try {
      await s.decide('ok');
      expect(await s.health.check()).toBe('SERVING');
      disk.full = true;
      const err = await s.decideError('lost');
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(err.metadata.get('gavel-error-code')).toEqual(['ledger_unavailable']);
      expect(await s.health.check()).toBe('NOT_SERVING');
      expect(await s.health.check('gavel.v1.DecisionService')).toBe('NOT_SERVING');
      expect(s.lines.some((l) => l.level === 50 && String(l.reason).includes('disk is full'))).toBe(true);
      disk.full = false;
      const next = await s.decide('back');
      expect(Number(next.receipt.seq)).toBe(2);
      expect(await s.health.check()).toBe('SERVING');
      expect(await s.core.parts.ledger.verify()).toMatchObject({ ok: true, entries: 2 });
    } finally {
      await s.stop();
    }
  });

  it('a deleted ledger file is noticed within seconds: NOT_SERVING, Decide UNAVAILABLE, an error logged', async () => {
    const s = await serving();
    try {
      await s.decide('before');
      for (const suffix of ['', '-wal', '-shm']) rmSync(s.file + suffix, { force: true });
      expect(await eventually(async () => (await s.health.check()) === 'NOT_SERVING', 3000)).toBe(true);
      const err = await s.decideError('after');
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(err.metadata.get('gavel-error-code')).toEqual(['ledger_unavailable']);
      expect(s.lines.some((l) => l.level === 50 && String(l.reason).includes('deleted'))).toBe(true);
    } finally {
      await s.stop();
    }
  });

  it('a ledger file replaced under the server is refused before the next answer', async () => {
    const s = await serving();
    try {
      await s.decide('before');
      copyFileSync(s.file, join(s.dir, 'copy.db'));
      renameSync(join(s.dir, 'copy.db'), s.file);
      // No waiting for the timer: the next append checks the file first.
      const err = await s.decideError('after');
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(await s.health.check()).toBe('NOT_SERVING');
      expect(s.lines.some((l) => l.level === 50 && String(l.reason).includes('replaced'))).toBe(true);
    } finally {
      await s.stop();
    }
  });
});
