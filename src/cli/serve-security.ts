import { AccessPolicy } from '../transport/security/access-policy.js';
import { loadAccessFile } from '../transport/security/access-file.js';
import { isLoopback } from '../transport/security/listen-rule.js';
import { TlsFiles } from '../transport/security/tls-files.js';
import type { ServerSecurity } from '../transport/server.js';

export interface SecurityFlags {
  listen: string;
  metricsListen?: string;
  extAuthzListen?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  access?: string;
  insecure?: boolean;
}

/** A combination of flags that cannot be served safely: `gavel serve` exits 2 with this message. */
export class SecurityUsageError extends Error {}

/**
 * The server's transport security and access policy from its flags, checked
 * before anything listens:
 * - TLS needs both --tls-cert and --tls-key; --client-ca needs TLS;
 * - --access grants roles to certificate identities, so it needs --client-ca;
 * - without mutual TLS, only loopback addresses are served (gRPC and metrics) unless --insecure:
 *   server-only TLS encrypts but authenticates no caller, so every caller would hold every role;
 * - under mutual TLS without --access, a certificate proves who calls, not what it may do:
 *   it holds `decide` only, and every other role must be granted in an access file.
 * Unreadable or unusable files throw config_invalid (exit 3).
 */
export function serverSecurity(f: SecurityFlags): { security: ServerSecurity; warnings: string[] } {
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined)) throw new SecurityUsageError('--tls-cert and --tls-key go together');
  if (f.clientCa !== undefined && f.tlsCert === undefined) throw new SecurityUsageError('--client-ca needs --tls-cert and --tls-key');
  if (f.access !== undefined && f.clientCa === undefined) {
    throw new SecurityUsageError('--access grants roles to client-certificate identities: it needs mutual TLS (--tls-cert, --tls-key and --client-ca)');
  }
  const tls = f.tlsCert !== undefined;
  const mutual = f.clientCa !== undefined;
  if (!mutual && !f.insecure) {
    for (const [flag, address] of [
      ['--listen', f.listen],
      ['--metrics-listen', f.metricsListen],
      ['--ext-authz-listen', f.extAuthzListen],
    ] as const) {
      if (address !== undefined && !isLoopback(address)) {
        throw new SecurityUsageError(
          `refusing ${flag} ${address} without ${tls ? 'mutual ' : ''}TLS: anyone who reaches it could decide, report and read the audit trail; use --tls-cert, --tls-key and --client-ca, listen on 127.0.0.1, or pass --insecure`,
        );
      }
    }
  }
  const files = tls ? new TlsFiles({ certFile: f.tlsCert!, keyFile: f.tlsKey!, ...(f.clientCa ? { clientCaFile: f.clientCa } : {}) }) : undefined;
  const policy = f.access !== undefined ? loadAccessFile(f.access) : files?.mutual ? AccessPolicy.decideOnly() : AccessPolicy.everyone();
  const warnings: string[] = [];
  if (!files?.mutual) {
    warnings.push(
      'no mutual TLS (development only): callers are not authenticated; every caller holds every role, the ledger records its x-gavel-caller claim as "unverified:<name>", and an approver\'s id and roles are taken as the Resolve request asserts them',
    );
  } else if (f.access === undefined) {
    warnings.push(
      'no --access file: a certificate from the client CA holds the "decide" role only; report, audit, audit-payloads, approve, approve-on-behalf and admin must be granted in an access file',
    );
  }
  if (!mutual && f.insecure && (!isLoopback(f.listen) || (f.metricsListen !== undefined && !isLoopback(f.metricsListen)))) {
    warnings.push(`--insecure: serving a network address without ${tls ? 'mutual ' : ''}TLS`);
  }
  return { security: { ...(files ? { tls: files } : {}), policy }, warnings };
}
