import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadBundles } from '../../src/bundles/loader.js';
import { bundleVerification } from '../../src/bundles/verification-keys.js';
import { replayCommand } from '../../src/cli/replay.js';
import { startRuntime } from '../../src/runtime.js';
import { gavelServices } from '../../src/transport/proto.js';
import { startServer } from '../../src/transport/server.js';
import { clients, type Clients } from '../helpers/client.js';
import { BUNDLES, FIXTURE_BUNDLES, ROOT, tempDir } from '../helpers/paths.js';
import { recordWorkload, type RecordedCase } from '../helpers/recorded-workload.js';
import { type InProcessServer, startInProcess } from '../helpers/server.js';
import { decide, modelCall } from '../usage/helpers.js';

/**
 * PolicyService.Replay on the real server over loopback: the server's own
 * ledger (recorded by the real `ai` bundle) re-evaluated with a candidate sent
 * as bytes, progress streamed, one report at the end.
 */
const LIVE_PATH = join(BUNDLES, 'ai.tar.gz');
const LIVE = readFileSync(LIVE_PATH);
const KEYWORD_PATH = join(FIXTURE_BUNDLES, 'candidates/keyword-deny.tar.gz');
const KEYWORD = readFileSync(KEYWORD_PATH);
const SIGNED = join(FIXTURE_BUNDLES, 'signed');

interface Progress {
  done: number;
  total: number;
}
interface Transition {
  from: string;
  to: string;
  count: number;
  reasons_added: Record<string, number>;
  reasons_removed: Record<string, number>;
  examples: string[];
}
interface Report {
  replayed: number;
  unchanged: number;
  changed: number;
  approximate: number;
  skipped: number;
  transitions: Transition[];
  report_json: Buffer;
}
interface Event {
  event: 'progress' | 'report';
  progress?: Progress;
  report?: Report;
}
interface Outcome {
  events: Event[];
  error?: grpc.ServiceError;
}

let recorded: string;
let cases: RecordedCase[];
let ledger: string;
let srv: InProcessServer;
let policy: grpc.Client;
let c: Clients;
const closers: Array<() => unknown> = [];

/** A copy of the recorded ledger (its file and its key), for a server of its own. */
function copyLedger(name: string): string {
  const path = join(tempDir(), name);
  copyFileSync(recorded, path);
  copyFileSync(`${recorded}.key`, `${path}.key`);
  return path;
}

function policyClient(address: string): grpc.Client {
  const client = new (gavelServices().PolicyService)(address, grpc.credentials.createInsecure());
  closers.push(() => client.close());
  return client;
}

/** Starts a Replay; `onEvent` may act on each event as it arrives (cancel, decide, start another). */
function startReplay(client: grpc.Client, request: Record<string, unknown>, onEvent?: (e: Event, call: grpc.ClientReadableStream<Event>) => void) {
  const call = (client as unknown as { Replay(r: unknown, o: grpc.CallOptions): grpc.ClientReadableStream<Event> }).Replay(request, {
    deadline: Date.now() + 30_000,
  });
  const events: Event[] = [];
  const done = new Promise<Outcome>((resolve) => {
    call.on('data', (e: Event) => {
      events.push(e);
      onEvent?.(e, call);
    });
    call.on('error', (error: grpc.ServiceError) => resolve({ events, error }));
    call.on('end', () => resolve({ events }));
  });
  return { call, done };
}

const runReplay = (client: grpc.Client, request: Record<string, unknown>) => startReplay(client, request).done;

/** The one report of a successful replay, after checking the stream's shape: progress events, then exactly one report, last. */
function reportOf(o: Outcome): { report: Report; json: Record<string, any>; progress: Progress[] } {
  expect(o.error).toBeUndefined();
  const reports = o.events.filter((e) => e.event === 'report');
  expect(reports.length).toBe(1);
  expect(o.events.at(-1)!.event).toBe('report');
  const progress = o.events.filter((e) => e.event === 'progress').map((e) => e.progress!);
  expect(progress.length).toBeGreaterThanOrEqual(1);
  expect(progress[0]!.done).toBe(0);
  const report = reports[0]!.report!;
  const json = JSON.parse(report.report_json.toString('utf8')) as Record<string, any>;
  // The typed fields are the JSON report's.
  expect({
    replayed: report.replayed,
    unchanged: report.unchanged,
    changed: report.changed,
    approximate: report.approximate,
    skipped: report.skipped,
    transitions: report.transitions,
  }).toEqual({
    replayed: json.replayed,
    unchanged: json.unchanged,
    changed: json.changed,
    approximate: json.approximate,
    skipped: json.skipped,
    transitions: json.transitions,
  });
  return { report, json, progress };
}

function expectError(o: Outcome, code: grpc.status, errorCode: string): grpc.ServiceError {
  expect(o.error, 'the replay should have failed').toBeDefined();
  expect(o.events).toEqual([]);
  expect(o.error!.code).toBe(code);
  expect(o.error!.metadata.get('gavel-error-code')).toEqual([errorCode]);
  return o.error!;
}

beforeAll(async () => {
  recorded = join(tempDir(), 'recorded.db');
  cases = await recordWorkload(recorded);
  ledger = copyLedger('live.db');
  srv = await startInProcess({ bundles: BUNDLES, ledger, engine: { workers: 0 } });
  policy = policyClient(srv.address);
  c = clients(srv.address);
  closers.push(() => c.close());
}, 60_000);

afterAll(async () => {
  for (const close of closers) close();
  await srv?.stop();
});

describe('PolicyService.Replay', () => {
  it('with the bundle that recorded the ledger: progress, then one report; nothing changed', async () => {
    const { report, json, progress } = reportOf(await runReplay(policy, { bundle: LIVE }));
    expect(progress[0]).toEqual({ done: 0, total: cases.length });
    const redacted = cases.filter((x) => x.approximate).length;
    expect(report).toMatchObject({
      replayed: cases.length,
      changed: 0,
      unchanged: cases.length - redacted,
      approximate: redacted,
      skipped: 0,
      transitions: [],
    });
    expect(report.unchanged + report.approximate).toBe(report.replayed);
    expect(json.candidate).toEqual({ bundle: 'candidate', ...pick(srv.core.policies.bundles[0]!) });
  });

  it('with the keyword candidate: allow → deny transitions gaining keyword_blocked, the same report `gavel replay --json` prints', async () => {
    const { report, json } = reportOf(await runReplay(policy, { bundle: KEYWORD, limit: cases.length }));
    expect(report.changed).toBeGreaterThan(0);
    const t = report.transitions.find((x) => x.from === 'allow' && x.to === 'deny')!;
    expect(t.count).toBeGreaterThan(0);
    expect(t.reasons_added.keyword_blocked).toBe(t.count);
    for (const id of t.examples) expect(cases.map((x) => x.decisionId)).toContain(id);
    const cli = await replayCommand({ ledger: recorded, bundle: KEYWORD_PATH, json: true });
    expect({ ...json, candidate: { ...json.candidate, bundle: 'keyword-deny' } }).toEqual(JSON.parse(cli.stdout));
  });

  it('filters by subject, time and count, and an entrypoint override applies to every decision', async () => {
    const subject = cases[0]!.input.subject.id as string;
    const bySubject = reportOf(await runReplay(policy, { bundle: LIVE, subject, limit: cases.length }));
    expect(bySubject.progress[0]!.total).toBe(cases.filter((x) => x.input.subject?.id === subject).length);
    expect(bySubject.report.replayed).toBe(bySubject.progress[0]!.total);
    expect(reportOf(await runReplay(policy, { bundle: LIVE, limit: 7 })).report.replayed).toBe(7);
    const later = reportOf(await runReplay(policy, { bundle: LIVE, since: '2100-01-01T00:00:00Z' }));
    expect(later.progress[0]!.total).toBe(0);
    expect(later.report.replayed).toBe(0);
    const overridden = reportOf(await runReplay(policy, { bundle: LIVE, policy: 'gavel/ai/decision', limit: 10 }));
    expect(overridden.report.replayed).toBe(10);
  });

  it('bad requests: an unknown entrypoint is NOT_FOUND, a bad bundle FAILED_PRECONDITION, a bad time INVALID_ARGUMENT; no events', async () => {
    const nope = expectError(await runReplay(policy, { bundle: LIVE, policy: 'gavel/nope' }), grpc.status.NOT_FOUND, 'unknown_entrypoint');
    expect(nope.details).toContain('no entrypoint "gavel/nope"');
    const garbage = expectError(await runReplay(policy, { bundle: Buffer.from('not a bundle') }), grpc.status.FAILED_PRECONDITION, 'bundle_invalid');
    expect(garbage.details).toContain('unreadable archive');
    expectError(await runReplay(policy, {}), grpc.status.FAILED_PRECONDITION, 'bundle_invalid');
    const since = expectError(await runReplay(policy, { bundle: LIVE, since: 'last tuesday' }), grpc.status.INVALID_ARGUMENT, 'invalid_query');
    expect(since.details).toContain('since');
    expectError(await runReplay(policy, { bundle: LIVE, until: 'soon' }), grpc.status.INVALID_ARGUMENT, 'invalid_query');
    expectError(await runReplay(policy, { bundle: LIVE, since: '99999999999d' }), grpc.status.INVALID_ARGUMENT, 'invalid_query');
    // The server is fine afterwards.
    expect(reportOf(await runReplay(policy, { bundle: LIVE, limit: 3 })).report.replayed).toBe(3);
  });

  it('one replay at a time: a second one while the first runs is RESOURCE_EXHAUSTED; the slot is free again after', async () => {
    // The second is sent once the first has started (its first progress event: the slot is held)
    // and is refused long before the first can end (its worker thread is still starting).
    const order: string[] = [];
    let second: Promise<Outcome> | undefined;
    const first = startReplay(policy, { bundle: KEYWORD }, (e) => {
      order.push(`first ${e.event}`);
      second ??= runReplay(policy, { bundle: LIVE }).then((o) => {
        order.push(o.error ? 'second refused' : 'second ran');
        return o;
      });
    }).done;
    const ran = reportOf(await first);
    const busy = expectError((await second)!, grpc.status.RESOURCE_EXHAUSTED, 'replay_busy');
    expect(busy.details).toContain('already running');
    expect(order.indexOf('second refused')).toBeLessThan(order.indexOf('first report'));
    expect(ran.report.changed).toBeGreaterThan(0);
    expect(reportOf(await runReplay(policy, { bundle: LIVE, limit: 3 })).report.replayed).toBe(3);
  });

  it('live decisions are answered while a replay runs (it evaluates on a worker thread)', async () => {
    const order: string[] = [];
    let decided: Promise<Record<string, any>> | undefined;
    const { done } = startReplay(policy, { bundle: KEYWORD }, (e) => {
      order.push(e.event);
      decided ??= decide(c, modelCall({ subject: 'live-user', team: 'platform', costCenter: 'cc-100' })).finally(() => order.push('decided'));
    });
    const replayed = await done;
    expect((await decided!).decision).toBe('DECISION_ALLOW');
    reportOf(replayed);
    expect(order.indexOf('decided')).toBeGreaterThan(-1);
    expect(order.indexOf('decided')).toBeLessThan(order.indexOf('report'));
  });

  it('reads on a read-only connection of its own, closed when the replay ends, and when it is cancelled', async () => {
    // Every connection that prepares a statement on the ledger file read-only is a replay's reader.
    const readers = new Set<Database.Database>();
    const original = Database.prototype.prepare;
    const prepare = vi.spyOn(Database.prototype, 'prepare').mockImplementation(function (this: Database.Database, source: string) {
      if (this.readonly && this.name === ledger) readers.add(this);
      return original.call(this, source);
    });
    try {
      let openDuring: boolean[] = [];
      reportOf(
        await startReplay(policy, { bundle: LIVE }, (e) => {
          if (e.event === 'progress' && openDuring.length === 0) openDuring = [...readers].map((r) => r.open);
        }).done,
      );
      expect(openDuring).toEqual([true]);
      expect([...readers].map((r) => r.open)).toEqual([false]);
      expect(srv.core.parts.ledger.db.readonly).toBe(false);

      readers.clear();
      const cancelled = await startReplay(policy, { bundle: KEYWORD }, (e, call) => {
        if (e.event === 'progress') call.cancel();
      }).done;
      expect(cancelled.error?.code).toBe(grpc.status.CANCELLED);
      expect(cancelled.events.map((e) => e.event)).toEqual(['progress']);
      // The slot is freed once the aborted replay has stopped: the next one runs.
      let next: Outcome;
      const until = Date.now() + 10_000;
      for (;;) {
        next = await runReplay(policy, { bundle: LIVE, limit: 3 });
        if (next.error?.code !== grpc.status.RESOURCE_EXHAUSTED || Date.now() > until) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(reportOf(next).report.replayed).toBe(3);
      expect(readers.size).toBe(2);
      expect([...readers].map((r) => r.open)).toEqual([false, false]);
    } finally {
      prepare.mockRestore();
    }
  });
});

describe('cancelling', () => {
  it('a cancelled replay stops at the next batch: the rest is never evaluated, nothing is reported', async () => {
    const lines: Array<Record<string, any>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, any>) });
    const core = await startRuntime({ bundles: BUNDLES, ledger: copyLedger('big.db'), engine: { workers: 0 } });
    const server = await startServer(core, { listen: '127.0.0.1:0', log });
    try {
      // More than three batches of 256 (with two in flight, a cancel is seen before the fourth).
      const more = 700;
      for (let i = 0; i < more; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, j) =>
            core.decide({
              policy: 'gavel/ai/decision',
              input: { value: modelCall({ subject: `bulk-${i + j}`, team: 'platform', costCenter: 'cc-100' }) },
              requestId: `bulk-${i + j}`,
              caller: 'test',
            }),
          ),
        );
      }
      const client = policyClient(`127.0.0.1:${server.port}`);
      const cancelled = await startReplay(client, { bundle: KEYWORD }, (e, call) => {
        if (e.event === 'progress') call.cancel();
      }).done;
      expect(cancelled.error?.code).toBe(grpc.status.CANCELLED);
      await vi.waitFor(() => expect(lines.some((l) => l.msg === 'replay cancelled')).toBe(true), { timeout: 15_000, interval: 50 });
      const stopped = lines.find((l) => l.msg === 'replay cancelled')!;
      expect(stopped.total).toBe(cases.length + more);
      expect(stopped.done).toBeLessThan(stopped.total);
      expect(lines.some((l) => l.msg === 'replay finished')).toBe(false);
    } finally {
      await server.shutdown(2000);
      await core.stop();
    }
  });
});

describe('where replay cannot run, or must not', () => {
  it('an in-memory ledger cannot be replayed: FAILED_PRECONDITION ledger_in_memory', async () => {
    const mem = await startInProcess({ bundles: BUNDLES, ledger: ':memory:', engine: { workers: 0 } });
    try {
      const err = expectError(await runReplay(policyClient(mem.address), { bundle: LIVE }), grpc.status.FAILED_PRECONDITION, 'ledger_in_memory');
      expect(err.details).toContain('in memory');
    } finally {
      await mem.stop();
    }
  });

  it('a server that verifies bundle signatures replays only a candidate that verifies', async () => {
    // The live (unsigned) bundles as loaded already: the key checks candidates only.
    const core = await startRuntime({
      bundles: loadBundles(BUNDLES),
      ledger: copyLedger('verified.db'),
      engine: { workers: 0 },
      delivery: { verification: bundleVerification([{ file: join(ROOT, 'test/fixtures/signing/rsa.pub') }]) },
    });
    const server = await startServer(core, { listen: '127.0.0.1:0', log: pino({ level: 'silent' }) });
    try {
      const client = policyClient(`127.0.0.1:${server.port}`);
      const unsigned = expectError(
        await runReplay(client, { bundle: readFileSync(join(SIGNED, 'unsigned.tar.gz')) }),
        grpc.status.FAILED_PRECONDITION,
        'bundle_invalid',
      );
      expect(unsigned.details).toContain('unsigned');
      expectError(await runReplay(client, { bundle: LIVE }), grpc.status.FAILED_PRECONDITION, 'bundle_invalid');
      expectError(await runReplay(client, { bundle: readFileSync(join(SIGNED, 'other.tar.gz')) }), grpc.status.FAILED_PRECONDITION, 'bundle_invalid');
      // Signed with the key: it runs (its entrypoints are not the recorded one: every decision is skipped).
      const { report, json } = reportOf(await runReplay(client, { bundle: readFileSync(join(SIGNED, 'rs256.tar.gz')) }));
      expect(report).toMatchObject({ replayed: 0, skipped: cases.length });
      expect(json.skipped_detail).toEqual({ entrypoint_missing: cases.length });
      expect(json.candidate.revision).toBe('signed-rs256');
    } finally {
      await server.shutdown(2000);
      await core.stop();
    }
  });
});

function pick(b: { revision: string; digest: string }): { revision: string; digest: string } {
  return { revision: b.revision, digest: b.digest };
}
