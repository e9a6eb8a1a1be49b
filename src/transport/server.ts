import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { AccessPolicy } from './security/access-policy.js';
import { Guard } from './security/guard.js';
import type { TlsFiles } from './security/tls-files.js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Runtime } from '../runtime.js';
import type { Logger } from '../log.js';
import { approvalService } from './approval-service.js';
import type { RunningConsole } from './console/app.js';
import type { DecisionLogConfig } from './decision-log/config.js';
import type { DecisionLogExporter } from './decision-log/exporter.js';
import { auditService } from './audit-service.js';
import { decisionService } from './decision-service.js';
import { authorizationService } from './envoy/authorization-service.js';
import { DEFAULT_EXT_AUTHZ_CONFIG, type ExtAuthzConfig } from './envoy/ext-authz-config.js';
import { DecidedRequests } from './envoy/decided-requests.js';
import { processorService } from './envoy/processor-service.js';
import { envoyServices } from './envoy/protos.js';
import { policyService } from './policy-service.js';
import { Metrics } from './metrics.js';
import { gavelServices, loadPackageDefinition } from './proto.js';
import { reflectionDefinition } from './reflection.js';
import { usageService } from './usage-service.js';

export interface ServerOptions {
  /** host:port; port 0 picks a free one. */
  listen: string;
  log: Logger;
  /** host:port for Prometheus GET /metrics; off when absent. */
  metricsListen?: string;
  /** Default: plain TCP, every caller holds every role (loopback development). */
  security?: ServerSecurity;
  /** Envoy's ext_authz (envoy.service.auth.v3.Authorization/Check): its request mapping; default DEFAULT_EXT_AUTHZ_CONFIG; false: not served. */
  extAuthz?: ExtAuthzConfig | false;
  /** host:port of a second listener serving ext_authz alone (with the same TLS and access), beside the main one. */
  extAuthzListen?: string;
  /** The auditor's web console (console/server.ts), with the same TLS and access file; off when absent. */
  console?: { listen: string; secret: Uint8Array; sessionMinutes?: number };
  /** Push every committed entry to a decision-log collector (OPA's decision log service API); off when absent. */
  decisionLog?: DecisionLogConfig;
}

export interface ServerSecurity {
  /** TLS (and, with a client CA, mutual TLS: callers are identified by their certificates). */
  tls?: TlsFiles;
  /** Roles per identity; AccessPolicy.everyone() without an access file. */
  policy: AccessPolicy;
}

export interface RunningServer {
  server: grpc.Server;
  port: number;
  address: string;
  metrics: Metrics;
  metricsPort?: number;
  /** The port of the ext_authz listener, when one was asked for. */
  extAuthzPort?: number;
  console?: RunningConsole;
  decisionLog?: DecisionLogExporter;
  /** Stops accepting, lets in-flight calls finish (up to graceMs), then force-closes. */
  shutdown(graceMs?: number): Promise<void>;
  /** Re-reads readiness into health (after a bundle set was activated or emptied). */
  refreshHealth(): void;
}

/** gavel's version (decision-log labels): package.json is two levels up from src/transport/ and dist/transport/ alike. */
const GAVEL_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const EXT_AUTHZ_SERVICE = 'envoy.service.auth.v3.Authorization';
/** The health name that is NOT_SERVING while a witness refuses this ledger's checkpoints (`--witness`). */
export const WITNESS_HEALTH = 'gavel.witness';
const SERVICE_NAMES = ['gavel.v1.DecisionService', 'gavel.v1.AuditService', 'gavel.v1.UsageService', 'gavel.v1.PolicyService', 'gavel.v1.ApprovalService'];

export async function startServer(runtime: Runtime, options: ServerOptions): Promise<RunningServer> {
  const definition = loadPackageDefinition();
  const services = gavelServices(definition);
  const limits = runtime.limits;
  // Room for the largest accepted input plus the envelope, so oversize inputs get gavel's own
  // RESOURCE_EXHAUSTED (with its error code) and only absurd messages meet gRPC's limit.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': Math.max(4 * 1024 * 1024, limits.maxInputBytes * 2 + 64 * 1024) });
  const metrics = new Metrics(runtime);
  const security = options.security ?? { policy: AccessPolicy.everyone() };
  const guard = new Guard({
    policy: security.policy,
    certificates: security.tls?.mutual === true,
    log: options.log,
    refused: (method, code) => metrics.refusals.inc({ method, code }),
  });
  const add = (service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) => server.addService(service, guard.wrap(service, impl));
  add(services.DecisionService.service, decisionService(runtime.decide, limits.maxDepth, options.log, metrics));
  add(services.AuditService.service, auditService(runtime.audit, runtime.recordOffline, options.log));
  add(services.PolicyService.service, policyService(runtime.policies, options.log));
  const approvals = runtime.approvals ? approvalService(runtime.approvals, options.log, security.policy) : undefined;
  if (approvals) add(services.ApprovalService.service, approvals.implementation);
  if (runtime.report) add(services.UsageService.service, usageService(runtime.report, options.log));
  const envoy = options.extAuthz === false ? [] : envoyImplementations(runtime, options.extAuthz ?? DEFAULT_EXT_AUTHZ_CONFIG, guard, options.log, metrics);
  for (const [service, impl] of envoy) server.addService(service, impl);
  // Envoy's own listener: ext_authz and ext_proc (and health) only.
  const envoyServer = envoy.length > 0 && options.extAuthzListen ? new grpc.Server() : undefined;
  for (const [service, impl] of envoyServer ? envoy : []) envoyServer?.addService(service, impl);
  const extAuthz = envoy.length > 0;
  runtime.policies.onEvent((bundle, result) => metrics.bundleActivations.inc({ bundle, result }));
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  if (envoyServer) health.addToServer(envoyServer);
  new ReflectionService(reflectionDefinition(definition)).addToServer(server);
  const port = await bind(server, options.listen, credentialsOf(security.tls));
  const extAuthzPort = envoyServer && options.extAuthzListen ? await bind(envoyServer, options.extAuthzListen, credentialsOf(security.tls)) : undefined;
  let stopping = false;
  // Health tells the truth: SERVING only while the runtime is ready (a bundle is active, the ledger records, usage can be read).
  const report = () => {
    const serving = !stopping && runtime.health.ok;
    for (const name of ['', ...SERVICE_NAMES, ...(extAuthz ? [EXT_AUTHZ_SERVICE] : [])]) health.setStatus(name, serving ? 'SERVING' : 'NOT_SERVING');
    // Its own name: a witness that refuses this ledger's history is an alarm for its operator, not a reason to stop deciding.
    const witnesses = runtime.health.witnesses;
    if (witnesses.length > 0) health.setStatus(WITNESS_HEALTH, serving && !witnesses.some((w) => w.refused) ? 'SERVING' : 'NOT_SERVING');
  };
  runtime.health.onChange(report);
  report();
  const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
  const http = options.metricsListen ? await metrics.listen(options.metricsListen, security.tls) : undefined;
  // The console and the decision log are loaded only when configured: a sidecar that serves neither does not carry them.
  const web = options.console
    ? await (await import('./console/server.js')).startConsole(
        {
          ledgers: [runtime.audit.view],
          ...(runtime.approvals ? { approvals: runtime.approvals } : {}),
          ...(runtime.report ? { report: runtime.report } : {}),
          policies: runtime.policies,
          readOnly: false,
        },
        {
          ...options.console,
          access: security.policy,
          dev: security.policy.open,
          ...(security.tls ? { tls: security.tls } : {}),
          log: options.log,
        },
      )
    : undefined;
  const exporter = options.decisionLog
    ? (await import('./decision-log/exporter.js')).startDecisionLog(
        runtime.audit.view,
        options.decisionLog,
        { id: runtime.audit.view.origin, version: GAVEL_VERSION },
        options.log,
      )
    : undefined;
  return {
    server,
    port,
    address: `${host}:${port}`,
    metrics,
    ...(http ? { metricsPort: http.port } : {}),
    ...(extAuthzPort !== undefined ? { extAuthzPort } : {}),
    ...(web ? { console: web } : {}),
    ...(exporter ? { decisionLog: exporter } : {}),
    refreshHealth: report,
    shutdown: async (graceMs = 10_000) => {
      stopping = true;
      report();
      // Watches never end by themselves while a request is open: end them so draining does not wait.
      approvals?.close();
      http?.server.close();
      await web?.close();
      await exporter?.stop();
      await Promise.all([shutdown(server, graceMs), ...(envoyServer ? [shutdown(envoyServer, graceMs)] : [])]);
    },
  };
}

/** Envoy's two services, guarded: ext_authz, and ext_proc sharing its decisions when the config says Envoy runs both. */
function envoyImplementations(
  runtime: Runtime,
  config: ExtAuthzConfig,
  guard: Guard,
  log: Logger,
  metrics: Metrics,
): Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]> {
  const { Authorization, ExternalProcessor } = envoyServices();
  const decided = config.ext_proc ? new DecidedRequests() : undefined;
  const limits = runtime.limits;
  return [
    [
      Authorization.service,
      guard.wrap(Authorization.service, authorizationService(runtime.decide, { config, limits, log, metrics, ...(decided ? { decided } : {}) })),
    ],
    [
      ExternalProcessor.service,
      guard.wrap(ExternalProcessor.service, processorService(runtime.decide, { config, limits, decided: decided ?? new DecidedRequests(), log, metrics })),
    ],
  ];
}

/**
 * TLS from files that may change (new connections get the new certificate). The same provider
 * serves as identity and CA provider; with a client CA, a client must present a certificate that
 * chains to it or the handshake fails.
 */
function credentialsOf(tls: TlsFiles | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.experimental.createCertificateProviderServerCredentials(tls, tls.mutual ? tls : null, tls.mutual);
}

function bind(server: grpc.Server, listen: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(listen, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    force.unref();
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
