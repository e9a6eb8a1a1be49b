import { status, type ChannelOptions } from '@grpc/grpc-js';
import { GavelError } from './errors.js';
import type { FallbackPolicy } from './fallback.js';

/** Server-only TLS (`ca` alone, or the system roots) or mutual TLS (`cert` and `key` too). PEM contents, not paths. */
export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name to check the server certificate against, when it differs from the target's host. */
  serverName?: string;
}

export interface RetryOptions {
  /** Attempts per call, the first included (default 4); 1 turns retries off. Always bounded by the call's deadline. */
  maxAttempts?: number;
  /** The first backoff (default 100 ms); each next one doubles, jittered, up to maxBackoffMs (default 2000 ms). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface BreakerOptions {
  /** Consecutive connection failures that open the circuit (default 5). */
  failures?: number;
  /** How long an open circuit fails calls fast before a call probes health (default 5000 ms). */
  halfOpenAfterMs?: number;
  /** How long the probe may wait for a connection and health's answer (default 1000 ms). */
  probeTimeoutMs?: number;
}

/** What a route answers when gavel cannot be asked (README "Routes and fail modes"). */
export type FailMode = 'open' | 'closed' | 'fallback';

export interface RouteOptions {
  /**
   * closed: deny (pdp_unavailable); open: allow (pdp_unavailable_fail_open); fallback: the local copy
   * of the signed bundle decides (createClient's `fallback`), and denies as closed when it cannot;
   * absent: the call throws, as without a route.
   */
  failMode?: FailMode;
}

export interface OutboxOptions {
  /** The JSON-lines file offline decisions are appended to (fsync'd) until gavel records them. */
  path: string;
}

export interface ClientOptions {
  /** host:port, or any gRPC target (dns:///gavel.internal:50051). */
  target: string;
  /** 'insecure' must be said: plaintext is for loopback development (README "Transport"). */
  tls: TlsOptions | 'insecure';
  /** Sent as `x-gavel-caller` (recorded as "unverified:<caller>"); ignored under mutual TLS, where the certificate names the caller. */
  caller?: string;
  /** Deadline of each call unless the call gives its own (default 5000 ms); waitForApproval has none by default. */
  deadlineMs?: number;
  retry?: RetryOptions | false;
  breaker?: BreakerOptions | false;
  /** Extra grpc-js channel options (keepalive, message sizes, …). */
  channelOptions?: ChannelOptions;
  /** Per route (decide's `route` option), what to answer when gavel cannot be asked. */
  routes?: Record<string, RouteOptions>;
  /** Where offline decisions wait for delivery; required when a route has a failMode. */
  outbox?: OutboxOptions;
  /** The local evaluator of `fallback` routes (openFallbackPolicy() of @gavel-pdp/gavel); required when a route falls back. Closed with the client. */
  fallback?: FallbackPolicy;
}

export interface Settings {
  target: string;
  tls: TlsOptions | 'insecure';
  caller: string | undefined;
  deadlineMs: number;
  retry: Required<RetryOptions>;
  breaker: Required<BreakerOptions> | undefined;
  channelOptions: ChannelOptions;
  routes: Record<string, RouteOptions>;
  outbox: OutboxOptions | undefined;
  fallback: FallbackPolicy | undefined;
}

export const DEFAULT_DEADLINE_MS = 5_000;
export const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 2_000 };
export const DEFAULT_BREAKER: Required<BreakerOptions> = { failures: 5, halfOpenAfterMs: 5_000, probeTimeoutMs: 1_000 };

/** The options with their defaults, checked: a bad value is a `config_invalid` GavelError naming the key. */
export function resolveOptions(o: ClientOptions): Settings {
  if (typeof o?.target !== 'string' || o.target.trim() === '') throw invalid('target', 'must be a non-empty host:port');
  checkTls(o.tls);
  if (o.caller !== undefined && (typeof o.caller !== 'string' || o.caller === '')) throw invalid('caller', 'must be a non-empty string');
  const retry = o.retry === false ? { ...DEFAULT_RETRY, maxAttempts: 1 } : { ...DEFAULT_RETRY, ...o.retry };
  const breaker = o.breaker === false ? undefined : { ...DEFAULT_BREAKER, ...o.breaker };
  const settings: Settings = {
    target: o.target,
    tls: o.tls,
    caller: o.caller,
    deadlineMs: o.deadlineMs ?? DEFAULT_DEADLINE_MS,
    retry,
    breaker,
    channelOptions: o.channelOptions ?? {},
    routes: { ...o.routes },
    outbox: o.outbox,
    fallback: o.fallback,
  };
  checkCounts(settings);
  checkRoutes(settings);
  return settings;
}

function checkRoutes(s: Settings): void {
  for (const [name, route] of Object.entries(s.routes)) {
    const mode: unknown = route?.failMode;
    if (mode !== undefined && mode !== 'open' && mode !== 'closed' && mode !== 'fallback')
      throw invalid(`routes.${name}.failMode`, `must be 'closed', 'open' or 'fallback', not ${String(mode)}`);
    if (mode === 'fallback' && typeof s.fallback?.decide !== 'function')
      throw invalid('fallback', `is required when a route falls back (routes.${name}): give openFallbackPolicy() of @gavel-pdp/gavel`);
  }
  const failing = Object.values(s.routes).some((r) => r.failMode !== undefined);
  if (s.outbox !== undefined && (typeof s.outbox?.path !== 'string' || s.outbox.path === '')) throw invalid('outbox.path', 'must be a file path');
  if (failing && !s.outbox) throw invalid('outbox', 'is required when a route has a failMode: every offline decision is kept there until gavel records it');
}

function checkTls(tls: ClientOptions['tls']): void {
  if (tls === 'insecure') return;
  if (typeof tls !== 'object' || tls === null) throw invalid('tls', "must be 'insecure' or { ca, cert, key }");
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw invalid('tls', 'cert and key go together (mutual TLS), or neither');
}

function checkCounts(s: Settings): void {
  const numbers: Array<[string, number, number]> = [
    ['deadlineMs', s.deadlineMs, 1],
    ['retry.maxAttempts', s.retry.maxAttempts, 1],
    ['retry.initialBackoffMs', s.retry.initialBackoffMs, 1],
    ['retry.maxBackoffMs', s.retry.maxBackoffMs, s.retry.initialBackoffMs],
  ];
  if (s.breaker) {
    numbers.push(
      ['breaker.failures', s.breaker.failures, 1],
      ['breaker.halfOpenAfterMs', s.breaker.halfOpenAfterMs, 0],
      ['breaker.probeTimeoutMs', s.breaker.probeTimeoutMs, 1],
    );
  }
  for (const [key, value, min] of numbers) {
    if (!Number.isSafeInteger(value) || value < min) throw invalid(key, `must be a whole number of at least ${min}, not ${String(value)}`);
  }
}

function invalid(key: string, why: string): GavelError {
  return new GavelError('config_invalid', `createClient: ${key} ${why}`, { grpcCode: status.INVALID_ARGUMENT, retryable: false });
}
