import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import type { DecideRequest } from '../../src/engine/engine.js';
import type { DecideFace } from '../../src/runtime/faces.js';
import { AccessPolicy } from '../../src/transport/security/access-policy.js';
import { Guard } from '../../src/transport/security/guard.js';
import { decisionService } from '../../src/transport/decision-service.js';
import { gavelServices, loadPackageDefinition } from '../../src/transport/proto.js';
import { clients, jsonInput, toStruct, unary, type Clients } from '../helpers/client.js';
import { tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { coreOptions, echoInput } from '../ledger/fixtures.js';

/** DecideStream over the real server on loopback: the echo fixture bundle, a real SQLite ledger. */

interface StreamError {
  code: number;
  error_code: string;
  message: string;
}
interface Answer {
  request_id: string;
  result?: 'decision' | 'error';
  decision?: Record<string, any>;
  error?: StreamError;
}

interface OpenStream {
  call: grpc.ClientDuplexStream<unknown, Answer>;
  answers: Answer[];
  /** Answers received when the server ended the call, and its status. */
  ended: Promise<{ answers: number; status: grpc.StatusObject }>;
  /** Resolves once `n` answers have arrived. */
  received(n: number): Promise<Answer[]>;
}

function openStream(client: grpc.Client, metadata = new grpc.Metadata(), onAnswer?: (a: Answer) => void): OpenStream {
  const call = (client as unknown as { DecideStream: (m: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, Answer> }).DecideStream(
    metadata,
    { deadline: Date.now() + 30_000 },
  );
  const answers: Answer[] = [];
  const waiting: Array<{ n: number; resolve: (a: Answer[]) => void }> = [];
  call.on('data', (a: Answer) => {
    onAnswer?.(a);
    answers.push(a);
    for (const w of waiting.filter((x) => answers.length >= x.n)) w.resolve(answers);
  });
  // The server ended its side: every answer it sent has arrived by 'end'; 'status' may come before or after.
  const end = new Promise<number>((resolve) => call.on('end', () => resolve(answers.length)));
  const status = new Promise<grpc.StatusObject>((resolve, reject) => {
    call.on('error', reject);
    call.on('status', (st: grpc.StatusObject) => (st.code === grpc.status.OK ? resolve(st) : undefined));
  });
  const ended = Promise.all([end, status]).then(([n, st]) => ({ answers: n, status: st }));
  ended.catch(() => undefined);
  return {
    call,
    answers,
    ended,
    received: (n) => (answers.length >= n ? Promise.resolve(answers) : new Promise((resolve) => waiting.push({ n, resolve }))),
  };
}

const request = (id: string, input: unknown = echoInput()) => ({ ...jsonInput(input), request_id: id });

function ledgerRow(core: Runtime, decisionId: string) {
  return core.parts.ledger.db.prepare('SELECT seq, entry_hash, request_id FROM entries WHERE decision_id = ?').get(decisionId) as
    | { seq: number; entry_hash: string; request_id: string }
    | undefined;
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('DecideStream on the real server', () => {
  let srv: InProcessServer;
  let c: Clients;
  let ledgerPath: string;
  beforeAll(async () => {
    ledgerPath = join(tempDir(), 'l.db');
    srv = await startInProcess(coreOptions(ledgerPath));
    c = clients(srv.address);
  });
  afterAll(async () => {
    c.close();
    await srv.stop();
  });

  it('answers 200 requests on one stream, each id exactly once, each after its committed ledger entry', async () => {
    // A second connection sees only committed transactions: each answer's entry must be there when the answer arrives.
    const reader = new Database(ledgerPath, { readonly: true });
    const lookup = reader.prepare('SELECT seq, entry_hash FROM entries WHERE decision_id = ?');
    const uncommitted: string[] = [];
    const s = openStream(c.decision, undefined, (a) => {
      const row = a.decision ? (lookup.get(a.decision.decision_id) as { seq: number; entry_hash: string } | undefined) : undefined;
      if (row?.seq !== Number(a.decision?.receipt.seq) || row?.entry_hash !== a.decision?.receipt.entry_hash) uncommitted.push(a.request_id);
    });
    const ids = Array.from({ length: 200 }, (_, i) => `gw-${i}`);
    for (const id of ids) s.call.write(request(id, echoInput({ subject: `user-${Number(id.slice(3)) % 7}` })));
    const answers = await s.received(200);
    s.call.end();
    const { answers: atEnd } = await s.ended;
    expect(atEnd).toBe(200);
    expect(answers.map((a) => a.request_id).sort()).toEqual([...ids].sort());
    const seqs = new Set<number>();
    for (const a of answers) {
      expect(a.result).toBe('decision');
      expect(a.decision!.decision).toBe('DECISION_ALLOW');
      expect(a.decision!.request_id).toBe(a.request_id);
      const row = ledgerRow(srv.core, a.decision!.decision_id);
      expect(row, a.request_id).toMatchObject({ seq: Number(a.decision!.receipt.seq), entry_hash: a.decision!.receipt.entry_hash, request_id: a.request_id });
      seqs.add(row!.seq);
    }
    expect(seqs.size).toBe(200);
    expect(uncommitted).toEqual([]);
    reader.close();
  });

  it('a bad request gets its error answer; the stream goes on and the others are decided', async () => {
    const s = openStream(c.decision);
    for (let i = 0; i < 10; i++) s.call.write(request(`ok-${i}`));
    s.call.write({ input_json: Buffer.from('{"subject":'), request_id: 'bad-json' });
    s.call.write({ request_id: 'no-input' });
    s.call.write({ ...jsonInput(echoInput()), policy: 'no/such/entrypoint', request_id: 'bad-entrypoint' });
    s.call.write({ input_struct: toStruct(echoInput()), request_id: 'struct' });
    for (let i = 10; i < 20; i++) s.call.write(request(`ok-${i}`));
    s.call.end();
    const { answers, status } = await s.ended;
    expect(status.code).toBe(grpc.status.OK);
    expect(answers).toBe(24);
    const byId = new Map(s.answers.map((a) => [a.request_id, a]));
    expect(byId.get('bad-json')).toMatchObject({
      result: 'error',
      error: { code: grpc.status.INVALID_ARGUMENT, error_code: 'invalid_input', message: expect.stringContaining('not valid JSON') },
    });
    expect(byId.get('no-input')).toMatchObject({ result: 'error', error: { code: grpc.status.INVALID_ARGUMENT, error_code: 'invalid_input' } });
    expect(byId.get('bad-entrypoint')).toMatchObject({ result: 'error', error: { code: grpc.status.NOT_FOUND, error_code: 'unknown_entrypoint' } });
    expect(byId.get('bad-json')!.decision).toBeUndefined();
    for (const id of [...Array.from({ length: 20 }, (_, i) => `ok-${i}`), 'struct']) {
      expect(byId.get(id), id).toMatchObject({ result: 'decision', decision: { decision: 'DECISION_ALLOW' } });
    }
    // The refused ones left nothing in the ledger.
    const refused = srv.core.parts.ledger.db
      .prepare("SELECT count(*) AS n FROM entries WHERE request_id IN ('bad-json', 'no-input', 'bad-entrypoint')")
      .get() as {
      n: number;
    };
    expect(refused.n).toBe(0);
  });

  it('a request without request_id is answered with the empty id', async () => {
    const s = openStream(c.decision);
    s.call.write(jsonInput(echoInput({ decision: 'deny' })));
    s.call.end();
    const { answers } = await s.ended;
    expect(answers).toBe(1);
    expect(s.answers[0]).toMatchObject({ request_id: '', result: 'decision', decision: { decision: 'DECISION_DENY', request_id: '' } });
  });

  it('half-close: the server answers everything in flight, then ends the call with OK', async () => {
    const s = openStream(c.decision);
    for (let i = 0; i < 50; i++) s.call.write(request(`hc-${i}`));
    s.call.end(); // at once: most are still in flight
    const { answers, status } = await s.ended;
    expect(status.code).toBe(grpc.status.OK);
    expect(answers).toBe(50);
    expect(new Set(s.answers.map((a) => a.request_id)).size).toBe(50);
  });

  it('a client that leaves answers unread holds the server back: it stops deciding, then goes on once the client reads', async () => {
    const s = openStream(c.decision);
    s.call.pause();
    const n = 1000;
    for (let i = 0; i < n; i++) s.call.write(request(`slow-${i}`));
    s.call.end();
    const decided = () => (srv.core.parts.ledger.db.prepare("SELECT count(*) AS n FROM entries WHERE request_id LIKE 'slow-%'").get() as { n: number }).n;
    // Settles once the HTTP/2 window and the server's buffers are full: far short of n.
    let last = -1;
    for (let seen = decided(); seen !== last; seen = decided()) {
      last = seen;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan(n / 2);
    s.call.resume();
    const { answers } = await s.ended;
    expect(answers).toBe(n);
    expect(decided()).toBe(n);
  });

  it('a stream with no requests ends when the client half-closes', async () => {
    const s = openStream(c.decision);
    s.call.end();
    expect((await s.ended).answers).toBe(0);
  });

  it('x-gavel-caller names the caller of every decision on the stream', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-gavel-caller', 'gateway-7');
    const s = openStream(c.decision, metadata);
    s.call.write(request('who'));
    s.call.end();
    await s.ended;
    const row = srv.core.parts.ledger.db.prepare('SELECT caller FROM entries WHERE decision_id = ?').get(s.answers[0]!.decision!.decision_id) as {
      caller: string;
    };
    expect(row.caller).toBe('unverified:gateway-7');
  });

  it('unary Decide answers as before beside streams', async () => {
    const res = await unary(c.decision, 'Decide', request('unary-1'));
    expect(res).toMatchObject({ decision: 'DECISION_ALLOW', request_id: 'unary-1' });
  });

  it('metrics count stream decisions and refusals like unary ones; no stream stays open', async () => {
    const text = await srv.server.metrics.registry.metrics();
    const count = (re: RegExp) => Number(text.match(re)?.[1] ?? 0);
    // 200 + 21 + 1 (deny) + 50 + 1000 + 1 stream decisions and 1 unary one so far.
    expect(count(/gavel_decisions_total\{decision="allow",entrypoint="fixtures\/echo"\} (\d+)/)).toBe(200 + 21 + 50 + 1000 + 1 + 1);
    expect(count(/gavel_decisions_total\{decision="deny",entrypoint="fixtures\/echo"\} (\d+)/)).toBe(1);
    expect(count(/gavel_errors_total\{method="DecideStream",code="invalid_input"\} (\d+)/)).toBe(2);
    expect(count(/gavel_errors_total\{method="DecideStream",code="unknown_entrypoint"\} (\d+)/)).toBe(1);
    expect(count(/gavel_call_duration_seconds_count\{method="DecideStream"\} (\d+)/)).toBe(200 + 21 + 1 + 50 + 1000 + 1);
    expect(count(/gavel_call_duration_seconds_count\{method="Decide"\} (\d+)/)).toBe(1);
    const open = async () => (await srv.server.metrics.streams.get()).values[0]?.value;
    const deadline = Date.now() + 5000;
    while ((await open()) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await open()).toBe(0);
  });

  it('server reflection describes DecideStream as a bidirectional stream', async () => {
    const require = createRequire(import.meta.url);
    const descriptor = require('protobufjs/ext/descriptor') as { FileDescriptorProto: import('protobufjs').Type };
    const proto = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
    const def = grpc.loadPackageDefinition(loadSync(proto, { keepCase: true })) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const reflection = new def.grpc.reflection.v1.ServerReflection(srv.address, grpc.credentials.createInsecure());
    try {
      const call = (reflection as unknown as { ServerReflectionInfo: () => grpc.ClientDuplexStream<unknown, any> }).ServerReflectionInfo();
      const res = await new Promise<any>((resolve, reject) => {
        call.on('data', (m: unknown) => {
          resolve(m);
          call.end();
        });
        call.on('error', reject);
        call.write({ file_containing_symbol: 'gavel.v1.DecisionService' });
      });
      const files = (res.file_descriptor_response.file_descriptor_proto as Buffer[]).map((b) => descriptor.FileDescriptorProto.decode(b) as any);
      const file = files.find((f) => f.package === 'gavel.v1' && f.service?.some((s: { name: string }) => s.name === 'DecisionService'));
      const method = file.service.find((s: { name: string }) => s.name === 'DecisionService').method.find((m: { name: string }) => m.name === 'DecideStream');
      expect(method).toMatchObject({
        inputType: '.gavel.v1.DecideStreamRequest',
        outputType: '.gavel.v1.DecideStreamResponse',
        clientStreaming: true,
        serverStreaming: true,
      });
      expect(file.messageType.map((m: { name: string }) => m.name)).toEqual(expect.arrayContaining(['DecideStreamResponse', 'StreamError']));
    } finally {
      reflection.close();
    }
  });
});

/**
 * The engine behind a gate: each decide waits for the test to release it, then
 * runs on the real engine (real ledger). Shows what the server does while
 * decisions are in flight.
 */
class Gate {
  readonly started: DecideRequest[] = [];
  private readonly open = new Map<string, () => void>();
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly real: DecideFace) {}

  get decide(): DecideFace {
    return async (r: DecideRequest) => {
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      this.started.push(r);
      try {
        await new Promise<void>((resolve) => this.open.set(r.requestId, resolve));
        return await this.real(r);
      } finally {
        this.inFlight--;
      }
    };
  }

  release(id: string): void {
    const go = this.open.get(id);
    if (!go) throw new Error(`${id} is not waiting`);
    this.open.delete(id);
    go();
  }

  waiting(): string[] {
    return [...this.open.keys()];
  }
}

describe('DecideStream in flight: bound, order, cancel', () => {
  let core: Runtime;
  let server: grpc.Server;
  let client: grpc.Client;
  let gate: Gate;
  beforeAll(async () => {
    core = await startRuntime(coreOptions(join(tempDir(), 'l.db')));
    gate = new Gate(core.decide);
    server = new grpc.Server();
    const services = gavelServices(loadPackageDefinition());
    const log = pino({ level: 'silent' });
    const guard = new Guard({ policy: AccessPolicy.everyone(), certificates: false, log });
    const service = services.DecisionService.service;
    server.addService(service, guard.wrap(service, decisionService(gate.decide, 32, log, undefined, { streamMaxInFlight: 4 })));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    client = new services.DecisionService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    server.forceShutdown();
    await core.stop();
  });

  it('holds at most the limit in flight per stream and stops reading beyond it; every request is still answered', async () => {
    const s = openStream(client);
    for (let i = 0; i < 20; i++) s.call.write(request(`b-${i}`));
    s.call.end();
    await until(() => gate.started.length === 4, 'four decisions in flight');
    await new Promise((r) => setTimeout(r, 100));
    expect(gate.started.length).toBe(4);
    // One out, one in: releasing a decision lets exactly one more request be read.
    gate.release('b-0');
    await s.received(1);
    await until(() => gate.started.length === 5, 'a fifth decision');
    await new Promise((r) => setTimeout(r, 50));
    expect(gate.started.length).toBe(5);
    while (s.answers.length < 20) {
      for (const id of gate.waiting()) gate.release(id);
      await new Promise((r) => setTimeout(r, 5));
    }
    const { answers, status } = await s.ended;
    expect(status.code).toBe(grpc.status.OK);
    expect(answers).toBe(20);
    expect(gate.maxInFlight).toBe(4);
    expect(s.answers.every((a) => a.result === 'decision')).toBe(true);
  });

  it('answers in commit order, not request order', async () => {
    const s = openStream(client);
    for (const id of ['o-a', 'o-b', 'o-c']) s.call.write(request(id));
    await until(() => ['o-a', 'o-b', 'o-c'].every((id) => gate.waiting().includes(id)), 'three decisions in flight');
    for (const id of ['o-c', 'o-a', 'o-b']) {
      const n = s.answers.length + 1;
      gate.release(id);
      await s.received(n);
    }
    s.call.end();
    await s.ended;
    expect(s.answers.map((a) => a.request_id)).toEqual(['o-c', 'o-a', 'o-b']);
    const seqs = s.answers.map((a) => Number(a.decision!.receipt.seq));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });

  it('client cancel abandons the decisions in flight: nothing is recorded for them and nothing more is sent', async () => {
    const s = openStream(client);
    const ids = ['x-1', 'x-2', 'x-3'];
    for (const id of ids) s.call.write(request(id));
    await until(() => ids.every((id) => gate.waiting().includes(id)), 'three decisions in flight');
    const before = (core.parts.ledger.db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
    s.call.cancel();
    await expect(s.ended).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    const signals = gate.started.filter((r) => ids.includes(r.requestId)).map((r) => r.signal!);
    await until(() => signals.every((sig) => sig.aborted), 'the cancel to reach the decisions');
    for (const id of ids) gate.release(id);
    await until(() => gate.inFlight === 0, 'the abandoned decisions to finish');
    const after = (core.parts.ledger.db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
    expect(after).toBe(before);
    expect(s.answers).toHaveLength(0);
  });
});
