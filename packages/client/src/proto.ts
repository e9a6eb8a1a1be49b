import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as ApprovalProto } from './gen/approval.js';
import type { ProtoGrpcType as AuditProto } from './gen/audit.js';
import type { ProtoGrpcType as DecisionProto } from './gen/decision.js';
import type { ProtoGrpcType as UsageProto } from './gen/usage.js';
import { PROTO_FILES, PROTO_ROOT } from './proto-root.js';

export { PROTO_FILES };

/**
 * The server's own loader options (src/transport/proto.ts), so the generated types (made with the
 * same options by scripts/gen-types.mjs) describe exactly what the calls take and return: field
 * names as in the .proto, 64-bit integers as numbers, enums as their names, defaults filled in,
 * the oneof's case named.
 */
export const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

type GavelV1 = DecisionProto['gavel']['v1'] & UsageProto['gavel']['v1'] & ApprovalProto['gavel']['v1'] & AuditProto['gavel']['v1'];

export type DecisionServiceConstructor = GavelV1['DecisionService'];
export type UsageServiceConstructor = GavelV1['UsageService'];
export type ApprovalServiceConstructor = GavelV1['ApprovalService'];
export type AuditServiceConstructor = GavelV1['AuditService'];

/** grpc.health.v1.Health's Check, as the standard proto (the copy grpc-health-check ships) defines it. */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
export interface HealthClient extends grpc.Client {
  Check(
    request: { service: string },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<{ status: ServingStatus }>,
  ): grpc.ClientUnaryCall;
}

export interface Services {
  DecisionService: DecisionServiceConstructor;
  UsageService: UsageServiceConstructor;
  ApprovalService: ApprovalServiceConstructor;
  AuditService: AuditServiceConstructor;
  Health: new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => HealthClient;
}

let loaded: Services | undefined;

/** The service constructors, loaded once per process. */
export function services(): Services {
  loaded ??= load();
  return loaded;
}

function load(): Services {
  const gavel = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [PROTO_ROOT] })) as unknown as {
    gavel: { v1: GavelV1 };
  };
  const healthProto = createRequire(import.meta.url).resolve('grpc-health-check/proto/health/v1/health.proto');
  const healthRoot = dirname(dirname(dirname(healthProto)));
  const health = grpc.loadPackageDefinition(
    protoLoader.loadSync(join('health', 'v1', 'health.proto'), { ...LOADER_OPTIONS, includeDirs: [healthRoot] }),
  ) as unknown as {
    grpc: { health: { v1: { Health: Services['Health'] } } };
  };
  const v1 = gavel.gavel.v1;
  return {
    DecisionService: v1.DecisionService,
    UsageService: v1.UsageService,
    ApprovalService: v1.ApprovalService,
    AuditService: v1.AuditService,
    Health: health.grpc.health.v1.Health,
  };
}
