import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { coreOptions } from '../ledger/fixtures.js';

/**
 * Server reflection is what lets grpcurl and other tools call gavel without
 * proto files: every service the server answers must be listed, and the file
 * descriptors for it must resolve with their dependencies.
 */
const require = createRequire(import.meta.url);
const protobuf = require('protobufjs') as typeof import('protobufjs');
const descriptor = require('protobufjs/ext/descriptor') as {
  FileDescriptorProto: import('protobufjs').Type;
  FileDescriptorSet: import('protobufjs').Type;
};

interface ReflectionResponse {
  list_services_response?: { service: Array<{ name: string }> };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

let srv: InProcessServer;
let reflection: grpc.Client;
beforeAll(async () => {
  srv = await startInProcess(coreOptions(join(tempDir(), 'l.db')));
  // grpcurl asks v1 first and falls back to v1alpha; the server answers both.
  const proto = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
  const def = grpc.loadPackageDefinition(loadSync(proto, { keepCase: true })) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
  };
  reflection = new def.grpc.reflection.v1.ServerReflection(srv.address, grpc.credentials.createInsecure());
});
afterAll(async () => {
  reflection.close();
  await srv.stop();
});

function ask(request: Record<string, unknown>): Promise<ReflectionResponse> {
  const call = (reflection as unknown as { ServerReflectionInfo: () => grpc.ClientDuplexStream<unknown, ReflectionResponse> }).ServerReflectionInfo();
  return new Promise((resolve, reject) => {
    call.on('data', (m: ReflectionResponse) => {
      resolve(m);
      call.end();
    });
    call.on('error', reject);
    call.write(request);
  });
}

type FileDescriptor = { name: string; package: string; dependency?: string[]; service?: Array<{ name: string; method: Array<{ name: string }> }> };

/** What a protobuf-go client does with a symbol: fetch its file, then every dependency by file name, recursively. */
async function resolveSymbol(symbol: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const add = (res: ReflectionResponse, asked: string) => {
    expect(res.error_response, `${asked}: ${res.error_response?.error_message}`).toBeUndefined();
    const found = res.file_descriptor_response?.file_descriptor_proto ?? [];
    expect(found.length, asked).toBeGreaterThan(0);
    for (const bytes of found) files.set((descriptor.FileDescriptorProto.decode(bytes) as unknown as FileDescriptor).name, bytes);
  };
  add(await ask({ file_containing_symbol: symbol }), symbol);
  for (let grew = true; grew; ) {
    grew = false;
    for (const bytes of [...files.values()]) {
      for (const dep of (descriptor.FileDescriptorProto.decode(bytes) as unknown as FileDescriptor).dependency ?? []) {
        if (files.has(dep)) continue;
        add(await ask({ file_by_filename: dep }), dep);
        grew = true;
      }
    }
  }
  return files;
}

describe('server reflection', () => {
  it('lists the health service with the gavel services', async () => {
    const res = await ask({ list_services: '' });
    const names = res.list_services_response!.service.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['grpc.health.v1.Health', 'gavel.v1.DecisionService', 'gavel.v1.AuditService', 'gavel.v1.UsageService']));
  });

  it.each(['grpc.health.v1.Health', 'gavel.v1.DecisionService', 'gavel.v1.AuditService'])(
    'the descriptors of %s resolve with their dependencies',
    async (service) => {
      const files = await resolveSymbol(service);
      const set = descriptor.FileDescriptorSet.fromObject({ file: [...files.values()].map((b) => descriptor.FileDescriptorProto.decode(b)) });
      const root = (protobuf.Root as unknown as { fromDescriptor(set: unknown): import('protobufjs').Root }).fromDescriptor(set);
      root.resolveAll();
      const found = root.lookupService(service);
      for (const method of Object.values(found.methods)) {
        expect(method.resolvedRequestType, `${service}.${method.name}`).toBeTruthy();
        expect(method.resolvedResponseType, `${service}.${method.name}`).toBeTruthy();
      }
    },
  );

  it.each(['gavel.v1.DecisionService', 'gavel.v1.AuditService', 'gavel.v1.UsageService', 'gavel.v1.PolicyService'])(
    'every map entry of %s is named as protoc names it (protobuf-go and grpcurl refuse any other name)',
    async (service) => {
      const files = await resolveSymbol(service);
      type Msg = { name: string; field?: Array<{ name: string; typeName?: string }>; nestedType?: Array<Msg & { options?: { mapEntry?: boolean } }> };
      const entries: string[] = [];
      const visit = (m: Msg) => {
        for (const nested of m.nestedType ?? []) {
          if (nested.options?.mapEntry) {
            const field = (m.field ?? []).find((f) => f.typeName?.endsWith(`.${nested.name}`));
            const camel = field!.name
              .split('_')
              .map((p) => p[0]!.toUpperCase() + p.slice(1))
              .join('');
            expect(nested.name, `${m.name}.${field!.name}`).toBe(`${camel}Entry`);
            entries.push(nested.name);
          }
          visit(nested);
        }
      };
      for (const bytes of files.values()) {
        const file = descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(bytes)) as { messageType?: Msg[] };
        (file.messageType ?? []).forEach(visit);
      }
      if (service === 'gavel.v1.PolicyService') expect(entries).toEqual(expect.arrayContaining(['ReasonsAddedEntry', 'ReasonsRemovedEntry']));
    },
  );

  it('grpc.health.v1.Health/Check is described as the health service implements it', async () => {
    const files = await resolveSymbol('grpc.health.v1.Health');
    const health = [...files.values()]
      .map((b) => descriptor.FileDescriptorProto.decode(b) as unknown as FileDescriptor)
      .find((f) => f.package === 'grpc.health.v1')!;
    expect(health.service!.find((s) => s.name === 'Health')!.method.map((m) => m.name)).toEqual(expect.arrayContaining(['Check', 'Watch']));
    const root = (protobuf.Root as unknown as { fromDescriptor(set: unknown): import('protobufjs').Root }).fromDescriptor(
      descriptor.FileDescriptorSet.fromObject({ file: [...files.values()].map((b) => descriptor.FileDescriptorProto.decode(b)) }),
    );
    // protobuf-go requires a map's entry message to be named <Field>Entry, as protoc names it.
    const list = (health as unknown as { messageType: Array<{ name: string; nestedType?: Array<{ name: string }> }> }).messageType.find(
      (m) => m.name === 'HealthListResponse',
    );
    if (list) expect(list.nestedType!.map((n) => n.name)).toEqual(['StatusesEntry']);
    const Response = root.lookupType('grpc.health.v1.HealthCheckResponse');
    expect(Response.fields.status!.resolve().resolvedType!.name).toBe('ServingStatus');
  });
});
