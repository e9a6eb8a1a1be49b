import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * Envoy's ext_authz v3 and ext_proc v3 services, from the .proto files @grpc/grpc-js-xds ships with
 * every import (Envoy's API, googleapis, xds, protoc-gen-validate; pinned by package-lock.json):
 * loaded, never hand-copied. Field names stay as in the .proto (snake_case), as gavel's own.
 */
const XDS_ROOT = join(dirname(createRequire(import.meta.url).resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const INCLUDE_DIRS = ['envoy-api', 'googleapis', 'xds', 'protoc-gen-validate'].map((d) => join(XDS_ROOT, d));

export const ENVOY_PROTO_FILES = ['envoy/service/auth/v3/external_auth.proto', 'envoy/service/ext_proc/v3/external_processor.proto'];

export const ENVOY_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: INCLUDE_DIRS,
};

export interface EnvoyServices {
  Authorization: grpc.ServiceClientConstructor;
  ExternalProcessor: grpc.ServiceClientConstructor;
}

let loaded: EnvoyServices | undefined;

/** The two services' definitions (loaded once: about 300 .proto files). */
export function envoyServices(): EnvoyServices {
  if (loaded) return loaded;
  const root = grpc.loadPackageDefinition(protoLoader.loadSync(ENVOY_PROTO_FILES, ENVOY_LOADER_OPTIONS)) as unknown as {
    envoy: {
      service: { auth: { v3: { Authorization: grpc.ServiceClientConstructor } }; ext_proc: { v3: { ExternalProcessor: grpc.ServiceClientConstructor } } };
    };
  };
  loaded = { Authorization: root.envoy.service.auth.v3.Authorization, ExternalProcessor: root.envoy.service.ext_proc.v3.ExternalProcessor };
  return loaded;
}
