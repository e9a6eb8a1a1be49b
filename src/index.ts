/**
 * gavel as a library: the runtime (bundles, engine, ledger, usage, approvals, delivery) behind
 * its faces, and the gRPC server over it — what `gavel serve` starts, for embedding and tests.
 *
 *   const runtime = await startRuntime({ bundles: './bundles', ledger: './data/ledger.db' });
 *   const server = await startServer(runtime, { listen: '127.0.0.1:50051', log });
 */
export { startRuntime, type Runtime, type RuntimeConfig, type StateOptions } from './runtime.js';
export type * from './runtime/faces.js';
export { startServer, type RunningServer, type ServerOptions, type ServerSecurity } from './transport/server.js';
export { PROTO_FILES, PROTO_ROOT } from './transport/proto.js';
export { type FallbackDecision, type FallbackPolicy, type FallbackPolicyOptions, openFallbackPolicy } from './fallback-policy.js';
export { ERROR_CODES, GavelError, type ErrorCode } from './lib/errors.js';
