import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { withEncodedStructs } from './struct.js';

export const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));
export const PROTO_FILES = ['gavel/v1/decision.proto', 'gavel/v1/audit.proto', 'gavel/v1/usage.proto', 'gavel/v1/policy.proto', 'gavel/v1/approval.proto'];

/** Field names stay as in the .proto (snake_case); enums travel as their names; 64-bit ints as numbers. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

/** Requests keep their google.protobuf.Struct fields encoded: see `withEncodedStructs` (struct.ts). */
export function loadPackageDefinition(): protoLoader.PackageDefinition {
  return withEncodedStructs(protoLoader.loadSync(PROTO_FILES, LOADER_OPTIONS));
}

export interface GavelServices {
  DecisionService: grpc.ServiceClientConstructor;
  AuditService: grpc.ServiceClientConstructor;
  UsageService: grpc.ServiceClientConstructor;
  PolicyService: grpc.ServiceClientConstructor;
  ApprovalService: grpc.ServiceClientConstructor;
}

export function gavelServices(definition = loadPackageDefinition()): GavelServices {
  const root = grpc.loadPackageDefinition(definition) as unknown as { gavel: { v1: GavelServices } };
  return root.gavel.v1;
}
