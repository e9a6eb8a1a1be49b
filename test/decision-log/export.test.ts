import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { decisionLogConfig } from '../../src/transport/decision-log/config.js';
import { clients, jsonInput, unary } from '../helpers/client.js';
import { tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { coreOptions, echoInput } from '../ledger/fixtures.js';

/**
 * The decision-log export against a local collector on 127.0.0.1 that fails, stalls and comes back:
 * every committed entry arrives (at least once, keyed by seq), none is lost across a restart, and
 * Decide answers while the collector is stuck.
 */
interface Received {
  seq: number;
  event: Record<string, any>;
}

/** A collector whose behaviour per request is chosen by `mode()`: accept, fail with 503, or never answer. */
function collector(mode: () => 'ok' | 'fail' | 'stall') {
  const received: Received[] = [];
  const requests: Array<{ encoding: string | undefined; type: string | undefined }> = [];
  const stalled: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ encoding: req.headers['content-encoding'], type: req.headers['content-type'] });
      const m = mode();
      if (m === 'stall') {
        stalled.push(res);
        return;
      }
      if (m === 'fail') {
        res.writeHead(503).end();
        return;
      }
      const events = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString()) as Array<Record<string, any>>;
      for (const event of events) received.push({ seq: event.gavel.seq as number, event });
      res.writeHead(204).end();
    });
  });
  return {
    received,
    requests,
    listen: () =>
      new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}/logs`))),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const r of stalled) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function until(check: () => boolean, what: () => string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const started: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of started.splice(0).reverse()) await s.stop();
});

describe('decision log export', () => {
  it('pushes every entry in OPA decision-log form, through failures and a stall, and resumes from its cursor after a restart', async () => {
    // The collector first stalls every request, then refuses twice, then accepts.
    let stalling = true;
    let script: Array<'ok' | 'fail' | 'stall'> = ['fail', 'fail'];
    const sink = collector(() => (stalling ? 'stall' : (script.shift() ?? 'ok')));
    started.push(sink);
    const url = await sink.listen();
    const dir = tempDir('gavel-dlog-');
    const ledger = join(dir, 'ledger.db');
    const cursorFile = join(dir, 'cursor');
    const config = decisionLogConfig({ url, cursorFile, batchEntries: 7, pollMs: 20, timeoutMs: 500, minBackoffMs: 10, maxBackoffMs: 50 });
    let srv: InProcessServer = await startInProcess(coreOptions(ledger), { decisionLog: config });
    let c = clients(srv.address);

    // Decide answers while the collector is stuck: the export never sits on the decision path.
    for (let i = 0; i < 20; i++) {
      const res = await unary(
        c.decision,
        'Decide',
        jsonInput(echoInput({ subject: `s${i}`, decision: i % 3 ? 'allow' : 'deny', extra: { content: { prompt: `hello ${i}` } } })),
      );
      expect(res.decision).toMatch(/^DECISION_/);
    }
    await until(
      () => sink.requests.length >= 1,
      () => 'a first POST',
    );
    expect(sink.received).toEqual([]);
    stalling = false;
    const total = srv.core.audit.size;
    expect(total).toBeGreaterThanOrEqual(20);
    await until(
      () => new Set(sink.received.map((r) => r.seq)).size >= total,
      () => `received ${JSON.stringify(sink.received.map((r) => r.seq))}, ${sink.requests.length} requests`,
    );
    expect(sink.requests.length).toBeGreaterThan(3);
    expect(sink.requests.every((r) => r.encoding === 'gzip' && r.type === 'application/json')).toBe(true);
    // Every entry, each at least once.
    const seqs = [...new Set(sink.received.map((r) => r.seq))].sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));

    const decision = sink.received.find((r) => r.event.gavel.kind === 'decision')!.event;
    expect(decision).toMatchObject({
      labels: { app: 'gavel', id: srv.core.audit.view.origin },
      path: 'fixtures/echo',
      bundles: { fixtures: { revision: expect.any(String) } },
      requested_by: expect.any(String),
      result: { decision: expect.stringMatching(/allow|deny/) },
    });
    expect(decision.input.subject.id).toMatch(/^s\d+$/);
    expect(decision.gavel.entry_hash).toMatch(/^[0-9a-f]{64}$/);

    await until(
      () => existsSync(cursorFile) && readFileSync(cursorFile, 'utf8').trim() === String(total),
      () => `cursor ${total}`,
    );
    await srv.stop();
    const before = sink.received.length;

    // Restarted on the same ledger: only what is new is sent (from the cursor on), nothing lost.
    script = ['fail'];
    srv = await startInProcess(coreOptions(ledger), { decisionLog: config });
    started.push(srv);
    c = clients(srv.address);
    for (let i = 0; i < 5; i++) await unary(c.decision, 'Decide', jsonInput(echoInput({ subject: `late${i}` })));
    const now = srv.core.audit.size;
    await until(
      () => new Set(sink.received.map((r) => r.seq)).size >= now,
      () => `received ${sink.received.length}`,
    );
    const after = sink.received.slice(before).map((r) => r.seq);
    // From the cursor on: what the restarted server wrote, nothing before it.
    expect(Math.min(...after)).toBe(total + 1);
    expect([...new Set(after)].sort((a, b) => a - b)).toEqual(Array.from({ length: now - total }, (_, i) => total + 1 + i));
    c.close();
  }, 60_000);

  it('refuses a URL that is not http(s) or carries credentials, and a batch out of range', () => {
    const base = { cursorFile: '/tmp/x' };
    expect(() => decisionLogConfig({ ...base, url: 'ftp://h/logs' })).toThrow(/http/);
    expect(() => decisionLogConfig({ ...base, url: 'http://u:p@h/logs' })).toThrow(/credentials/);
    expect(() => decisionLogConfig({ ...base, url: 'not a url' })).toThrow(/not a URL/);
    expect(() => decisionLogConfig({ ...base, url: 'http://h/logs', batchEntries: 0 })).toThrow(/batchEntries/);
  });
});

describe('decision log events', () => {
  it('an approval entry is an event at gavel/approval whose result is its payload; an erased payload says so', async () => {
    const { decisionLogEvent } = await import('../../src/transport/decision-log/event.js');
    const base = {
      kind: 'approval' as const,
      decisionId: 'e1',
      time: '2026-12-05T00:00:00.000Z',
      subjectId: 'fiona',
      subjectType: 'user',
      team: 'finance',
      costCenter: 'cc',
      actionType: 'approval.approved',
      resource: 'payments.transfer',
      decision: 'approved',
      reasonCodes: [],
      bundle: 'ai',
      revision: 'ai-1',
      digest: 'sha256:x',
      entrypoint: '',
      requestId: 'a-1',
      caller: 'gavel-console',
      seq: 9,
      payloadHash: 'p',
      prevHash: 'q',
      entryHash: 'h',
      salt: null,
    };
    const event = decisionLogEvent({ ...base, payload: { approval: { id: 'a-1', event: 'approved' } } }, { id: 'origin', version: '1' });
    expect(event).toMatchObject({
      path: 'gavel/approval',
      result: { approval: { id: 'a-1', event: 'approved' } },
      bundles: { ai: { revision: 'ai-1' } },
      requested_by: 'gavel-console',
      gavel: { seq: 9, kind: 'approval', entry_hash: 'h', payload_erased: false },
    });
    expect(event.input).toBeUndefined();
    const erased = decisionLogEvent({ ...base, kind: 'decision', entrypoint: 'gavel/ai/decision', payload: null }, { id: 'origin', version: '1' });
    expect(erased).toMatchObject({ path: 'gavel/ai/decision', gavel: { payload_erased: true } });
    expect(erased.result).toBeUndefined();
  });
});
