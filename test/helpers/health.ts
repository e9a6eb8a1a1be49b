import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';
import { unary } from './client.js';

/** A grpc.health.v1.Health client, and its Check as a string status. */
export function healthClient(address: string): { check(service?: string): Promise<string>; close(): void; client: grpc.Client } {
  const def = grpc.loadPackageDefinition(loadSync(protoPath, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const client = new def.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  return {
    client,
    check: async (service = '') => (await unary(client, 'Check', { service })).status as string,
    close: () => client.close(),
  };
}

/** Polls until `probe` returns true or `ms` pass. */
export async function eventually(probe: () => Promise<boolean> | boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return probe();
}
