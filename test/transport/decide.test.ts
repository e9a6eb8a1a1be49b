import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { clients, jsonInput, toStruct, unary, unaryError, type Clients } from '../helpers/client.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { sample } from '../helpers/samples.js';
import { join } from 'node:path';
import { payloadTextOf } from '../helpers/payloads.js';

/** The real gRPC server on an ephemeral loopback port, the real ai bundle, a real SQLite ledger. */
let srv: InProcessServer;
let c: Clients;

beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db'), engine: { maxInputBytes: 64 * 1024, maxDepth: 32 } });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const decide = (input: unknown, extra: Record<string, unknown> = {}) => unary(c.decision, 'Decide', { ...jsonInput(input), ...extra });

describe('each decision kind over gRPC', () => {
  it.each([
    ['employee-standard-allowed', 'DECISION_ALLOW'],
    ['employee-frontier-denied', 'DECISION_DENY'],
    ['finance-transfer-large-approval', 'DECISION_REQUIRE_APPROVAL'],
    ['prompt-pii-redact', 'DECISION_REDACT'],
  ])('%s -> %s, with reasons, policy version and ledger receipt', async (name, expected) => {
    const s = sample(name);
    const res = await decide(s.input, { request_id: `req-${name}` });
    expect(res.decision).toBe(expected);
    expect(res.request_id).toBe(`req-${name}`);
    // A UUID version 7 (lib/entry-id.ts): time-ordered, so the ledger's id indexes grow at their end.
    expect(res.decision_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const code of s.expect.codes) expect(res.reasons.map((r: { code: string }) => r.code)).toContain(code);
    expect(res.policy).toMatchObject({ bundle: 'ai', revision: expect.stringMatching(/^ai-/), digest: expect.stringMatching(/^sha256:/) });
    expect(Number(res.receipt.seq)).toBeGreaterThan(0);
    const row = srv.core.parts.ledger.db.prepare('SELECT seq, entry_hash, decision FROM entries WHERE decision_id = ?').get(res.decision_id) as {
      seq: number;
      entry_hash: string;
      decision: string;
    };
    expect(row).toMatchObject({ seq: Number(res.receipt.seq), entry_hash: res.receipt.entry_hash });
  });

  it('REDACT returns the masked input and the redactions, never the values', async () => {
    const s = sample('prompt-pii-redact');
    const res = await decide(s.input);
    const redacted = JSON.parse(res.redacted_input_json.toString()) as { content: { prompt: string } };
    expect(redacted.content.prompt).toContain('[REDACTED:email]');
    expect(res.redactions.map((r: { kind: string }) => r.kind).sort()).toEqual(['card', 'email', 'phone']);
    const wire = JSON.stringify(res) + res.redacted_input_json.toString() + res.obligations_json.toString();
    for (const r of s.expect.redactions ?? []) expect(wire).not.toContain(r.match);
    const stored = payloadTextOf(srv.core.parts.ledger.db, res.decision_id);
    for (const r of s.expect.redactions ?? []) expect(stored).not.toContain(r.match);
  });

  it('REQUIRE_APPROVAL carries its obligations as JSON', async () => {
    const res = await decide(sample('finance-transfer-large-approval').input);
    expect(JSON.parse(res.obligations_json.toString())).toMatchObject({ approval: { approvers: ['role:finance-manager'] } });
  });

  it('accepts input_struct as well as input_json', async () => {
    const res = await unary(c.decision, 'Decide', { input_struct: toStruct(sample('employee-standard-allowed').input) });
    expect(res.decision).toBe('DECISION_ALLOW');
  });

  it('the explicit entrypoint works like the default', async () => {
    const res = await decide(sample('unknown-model-denied').input, { policy: 'gavel/ai/decision' });
    expect(res.decision).toBe('DECISION_DENY');
    expect(res.reasons.map((r: { code: string }) => r.code)).toContain('unknown_model');
  });
});

describe('bad input gets a clear status, and the server keeps answering', () => {
  const cases: Array<[string, Record<string, unknown>, grpc.status, string]> = [
    ['invalid JSON', { input_json: Buffer.from('{"subject":') }, grpc.status.INVALID_ARGUMENT, 'not valid JSON'],
    ['a JSON array', { input_json: Buffer.from('[]') }, grpc.status.INVALID_ARGUMENT, 'must be a JSON object'],
    ['no input at all', {}, grpc.status.INVALID_ARGUMENT, 'request has no input'],
    ['unknown entrypoint', { policy: 'gavel/nope', input_json: Buffer.from('{}') }, grpc.status.NOT_FOUND, 'gavel/ai/decision'],
    ['input over the size limit', { input_json: Buffer.from(JSON.stringify({ p: 'x'.repeat(70 * 1024) })) }, grpc.status.RESOURCE_EXHAUSTED, 'over the limit'],
    [
      'input nested too deep',
      { input_json: Buffer.from(`${'['.repeat(40)}${']'.repeat(40)}`.replace(/^\[/, '{"a":[').replace(/\]$/, ']}')) },
      grpc.status.INVALID_ARGUMENT,
      'levels deep',
    ],
    ['invalid UTF-8', { input_json: Buffer.from([0x7b, 0xff, 0x7d]) }, grpc.status.INVALID_ARGUMENT, 'UTF-8'],
  ];
  it.each(cases)('%s', async (_name, request, code, text) => {
    const before = srv.core.parts.ledger.size;
    const err = await unaryError(c.decision, 'Decide', request);
    expect(err.code).toBe(code);
    expect(err.details).toContain(text);
    expect(err.metadata.get('gavel-error-code')[0]).toBeTruthy();
    expect(srv.core.parts.ledger.size).toBe(before);
    expect((await decide(sample('employee-standard-allowed').input)).decision).toBe('DECISION_ALLOW');
  });

  it('a deeply nested input_struct is refused without crashing', async () => {
    let v: Record<string, unknown> = { x: 1 };
    // 40 levels: under protobuf's own nesting limit on the client, over the server's maxDepth of 32.
    for (let i = 0; i < 40; i++) v = { a: v };
    const err = await unaryError(c.decision, 'Decide', { input_struct: toStruct(v) });
    expect([grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED]).toContain(err.code);
    expect((await decide(sample('employee-standard-allowed').input)).decision).toBe('DECISION_ALLOW');
  });

  it('a burst of garbage interleaved with good calls never wedges the server', async () => {
    const garbage = Array.from({ length: 50 }, (_, i) => unaryError(c.decision, 'Decide', { input_json: Buffer.from(`{"n":${i},`) }));
    const good = Array.from({ length: 50 }, () => decide(sample('employee-standard-allowed').input));
    const [errs, oks] = await Promise.all([Promise.all(garbage), Promise.all(good)]);
    expect(errs.every((e) => e.code === grpc.status.INVALID_ARGUMENT)).toBe(true);
    expect(oks.every((r) => r.decision === 'DECISION_ALLOW')).toBe(true);
  });
});

describe('health and reflection', () => {
  it('grpc.health.v1.Health reports SERVING', async () => {
    const { loadSync } = await import('@grpc/proto-loader');
    const { protoPath } = await import('grpc-health-check');
    const def = grpc.loadPackageDefinition(loadSync(protoPath, { enums: String })) as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    const health = new def.grpc.health.v1.Health(srv.address, grpc.credentials.createInsecure());
    for (const service of ['', 'gavel.v1.DecisionService']) {
      const res = await unary(health, 'Check', { service });
      expect(res.status).toBe('SERVING');
    }
    health.close();
  });

  it('server reflection lists the gavel services', async () => {
    const { loadSync } = await import('@grpc/proto-loader');
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const reflectionProto = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto');
    const def = grpc.loadPackageDefinition(loadSync(reflectionProto, { keepCase: true })) as unknown as {
      grpc: { reflection: { v1alpha: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const client = new def.grpc.reflection.v1alpha.ServerReflection(srv.address, grpc.credentials.createInsecure());
    const call = (
      client as unknown as { ServerReflectionInfo: () => grpc.ClientDuplexStream<unknown, { list_services_response?: { service: Array<{ name: string }> } }> }
    ).ServerReflectionInfo();
    const names = await new Promise<string[]>((resolve, reject) => {
      call.on('data', (m) => {
        resolve(m.list_services_response?.service.map((s: { name: string }) => s.name) ?? []);
        call.end();
      });
      call.on('error', reject);
      call.write({ list_services: '' });
    });
    client.close();
    expect(names).toEqual(expect.arrayContaining(['gavel.v1.DecisionService', 'gavel.v1.AuditService', 'gavel.v1.UsageService']));
  });

  it('reflected descriptors resolve for protobuf-go clients: dependencies declared, map entries named <Field>Entry', async () => {
    const { loadSync } = await import('@grpc/proto-loader');
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const protobuf = require('protobufjs') as typeof import('protobufjs');
    const FileDescriptorProto = protobuf.Root.fromJSON(require('protobufjs/google/protobuf/descriptor.json')).lookupType('google.protobuf.FileDescriptorProto');
    const reflectionProto = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto');
    const def = grpc.loadPackageDefinition(loadSync(reflectionProto, { keepCase: true })) as unknown as {
      grpc: { reflection: { v1alpha: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const client = new def.grpc.reflection.v1alpha.ServerReflection(srv.address, grpc.credentials.createInsecure());
    const call = (
      client as unknown as { ServerReflectionInfo: () => grpc.ClientDuplexStream<unknown, { file_descriptor_response?: { file_descriptor_proto: Buffer[] } }> }
    ).ServerReflectionInfo();
    const files = await new Promise<
      Array<{ name: string; package: string; dependency?: string[]; messageType?: Array<{ name: string; nestedType?: Array<{ name: string }> }> }>
    >((resolve, reject) => {
      call.on('data', (m) => {
        resolve(
          (m.file_descriptor_response?.file_descriptor_proto ?? []).map((b: Buffer) => FileDescriptorProto.toObject(FileDescriptorProto.decode(b)) as never),
        );
        call.end();
      });
      call.on('error', reject);
      call.write({ file_containing_symbol: 'gavel.v1.DecideRequest' });
    });
    client.close();
    const gavel = files.find((f) => f.package === 'gavel.v1')!;
    const google = files.find((f) => f.package === 'google.protobuf')!;
    expect(gavel.dependency).toContain(google.name);
    const struct = google.messageType!.find((m) => m.name === 'Struct')!;
    expect(struct.nestedType!.map((n) => n.name)).toEqual(['FieldsEntry']);
  });
});
