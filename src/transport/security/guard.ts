import type * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { GavelError, type ErrorCode } from '../../lib/errors.js';
import type { Logger } from '../../log.js';
import { toServiceError } from '../status.js';
import type { AccessPolicy } from './access-policy.js';
import { certificateIdentity, isIdentity, type NoIdentity, type PeerIdentity } from './certificate-identity.js';
import { METHOD_ROLES, type Role } from './roles.js';

/** Who is calling, as established by the guard before any handler runs. */
export interface Caller {
  /** What the ledger records as `caller`: a certificate identity, or `unverified:<claim>` without mutual TLS. */
  id: string;
  /** True when the identity comes from a client certificate that chained to the client CA. */
  verified: boolean;
  roles: ReadonlySet<Role>;
  /** The identity itself (its kind decides which access-file patterns match it). */
  identity: PeerIdentity;
}

export interface GuardOptions {
  policy: AccessPolicy;
  /** Mutual TLS: identities come from client certificates and `x-gavel-caller` is ignored. */
  certificates: boolean;
  log: Logger;
  /** Counts a refusal (gavel_refusals_total). */
  refused?: (method: string, code: ErrorCode) => void;
}

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

const callers = new WeakMap<object, Caller>();

/** The caller the guard established for this call. A call that did not pass a guard has none: fail closed. */
export function callerOf(call: object): Caller {
  const c = callers.get(call);
  if (!c) throw new GavelError('internal', 'a call reached a handler without passing the access guard');
  return c;
}

/**
 * Every gavel method passes here first: the caller is identified (its client
 * certificate under mutual TLS, else its `x-gavel-caller` claim, marked
 * unverified), then must hold the method's role (roles.ts). A call without an
 * identity gets UNAUTHENTICATED, one without the role PERMISSION_DENIED; both
 * are counted and logged with the method and identity, never the request body.
 */
export class Guard {
  private readonly identities = new Map<string, PeerIdentity | NoIdentity>();

  constructor(private readonly o: GuardOptions) {}

  /** The service implementation with every method guarded; throws if a method has no required role. */
  wrap(service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation {
    const guarded: grpc.UntypedServiceImplementation = {};
    for (const [name, def] of Object.entries(service)) {
      const role = METHOD_ROLES[def.path];
      if (!role) throw new Error(`method ${def.path} has no required role (transport/security/roles.ts): refusing to serve it`);
      const handler = impl[name];
      if (!handler) continue;
      const streamsOut = def.responseStream;
      guarded[name] = ((call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => {
        const admitted = this.admit(call, def.path, role);
        if (admitted instanceof GavelError) {
          const e = toServiceError(admitted, this.o.log);
          if (streamsOut || !callback) (call as grpc.ServerWritableStream<unknown, unknown>).emit('error', e);
          else callback(e);
          return;
        }
        callers.set(call, admitted);
        (handler as (c: AnyCall, cb?: grpc.sendUnaryData<unknown>) => void)(call, callback);
      }) as grpc.UntypedHandleCall;
    }
    return guarded;
  }

  private admit(call: AnyCall, method: string, needed: Role | readonly Role[]): Caller | GavelError {
    const id = this.identify(call);
    if (!isIdentity(id))
      return this.refuse(method, 'unauthenticated', `${method} needs a client certificate that names its holder (a URI or DNS SAN, or a CN): ${id.problem}`);
    const roles = this.o.policy.rolesOf(id);
    const anyOf = typeof needed === 'string' ? [needed] : needed;
    if (!anyOf.some((r) => roles.has(r))) {
      const which = anyOf.map((r) => `"${r}"`).join(' or ');
      return this.refuse(method, 'permission_denied', `${method} needs role ${which}; ${id.name} does not hold it`, id.name);
    }
    return { id: id.name, verified: id.kind !== 'claim', roles, identity: id };
  }

  private refuse(method: string, code: 'unauthenticated' | 'permission_denied', message: string, identity?: string): GavelError {
    this.o.refused?.(method, code);
    this.o.log.warn({ method, code, ...(identity !== undefined ? { identity } : {}) }, 'call refused');
    return new GavelError(code, message);
  }

  private identify(call: AnyCall): PeerIdentity | NoIdentity {
    if (this.o.certificates) {
      const cert = call.getAuthContext()?.sslPeerCertificate;
      if (!cert) return { problem: 'it presented none' };
      return this.certificateId(cert);
    }
    const claimed = call.metadata.get('x-gavel-caller')[0];
    // Not cut: an oversized name is refused by the engine's header bounds (INVALID_ARGUMENT), never silently shortened.
    return { kind: 'claim', name: `unverified:${typeof claimed === 'string' && claimed !== '' ? claimed : 'anonymous'}` };
  }

  private certificateId(cert: PeerCertificate): PeerIdentity | NoIdentity {
    const key = cert.fingerprint256;
    const known = this.identities.get(key);
    if (known) return known;
    const id = certificateIdentity(cert);
    if (this.identities.size >= 10_000) this.identities.clear();
    this.identities.set(key, id);
    return id;
  }
}
