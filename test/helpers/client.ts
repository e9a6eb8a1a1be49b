import * as grpc from '@grpc/grpc-js';
import { gavelServices } from '../../src/transport/proto.js';

export interface Clients {
  decision: grpc.Client;
  audit: grpc.Client;
  usage: grpc.Client;
  approval: grpc.Client;
  close(): void;
}

export function clients(address: string, creds = grpc.credentials.createInsecure(), options: grpc.ClientOptions = {}): Clients {
  const s = gavelServices();
  const decision = new s.DecisionService(address, creds, options);
  const audit = new s.AuditService(address, creds, options);
  const usage = new s.UsageService(address, creds, options);
  const approval = new s.ApprovalService(address, creds, options);
  return {
    decision,
    audit,
    usage,
    approval,
    close: () => {
      for (const c of [decision, audit, usage, approval]) c.close();
    },
  };
}

export interface CallError extends grpc.ServiceError {}

/** Calls a unary method; resolves with the response or rejects with the ServiceError. */
export function unary<T = Record<string, any>>(client: grpc.Client, method: string, request: unknown, metadata = new grpc.Metadata()): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, Function>)[method]!.bind(client);
    fn(request, metadata, { deadline: Date.now() + 15_000 }, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

/** Expects a unary call to fail; returns the error (code, details). */
export async function unaryError(client: grpc.Client, method: string, request: unknown, metadata = new grpc.Metadata()): Promise<grpc.ServiceError> {
  try {
    await unary(client, method, request, metadata);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error(`${method} succeeded but an error was expected`);
}

export function stream<T = Record<string, any>>(client: grpc.Client, method: string, request: unknown): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, Function>)[method]!.bind(client);
    const call = fn(request, { deadline: Date.now() + 15_000 }) as grpc.ClientReadableStream<T>;
    const items: T[] = [];
    call.on('data', (d: T) => items.push(d));
    call.on('error', reject);
    call.on('end', () => resolve(items));
  });
}

export function jsonInput(value: unknown): { input_json: Buffer } {
  return { input_json: Buffer.from(JSON.stringify(value)) };
}

/** Plain JSON -> google.protobuf.Struct as proto-loader encodes it. */
export function toStruct(obj: Record<string, unknown>): { fields: Record<string, unknown> } {
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, toValue(v)])) };
}

function toValue(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v as Record<string, unknown>) };
}
