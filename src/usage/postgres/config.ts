import { positiveInt, stripUndefined } from '../../lib/config.js';
import { GavelError } from '../../lib/errors.js';

/** The shared usage store on PostgreSQL (`--usage-store postgres://…`). */
export interface PostgresUsageConfig {
  /** postgres://USER:PASS@HOST:PORT/DB[?sslmode=require|verify-ca|verify-full&sslrootcert=FILE]. */
  url: string;
  /** Connections in the pool: the most decisions that read usage at once (each holds one while it is evaluated). */
  poolSize: number;
  /**
   * The deadline of every step (connect, take a connection from the pool, wait for a budget's
   * lock, run a statement; a server that stopped answering is given up a second later): past it
   * the decision fails closed with usage_unavailable.
   */
  timeoutMs: number;
  /** How often a store that failed is probed until it answers again (health back to SERVING). */
  probeMs: number;
  /** A transaction idle this long is ended by the server (a replica that stopped mid-decision frees its budgets' locks). */
  idleTransactionMs: number;
  /** How often settled history past every window (request rows, minute buckets, long-expired reservations) is pruned. */
  pruneMs: number;
}

export const POSTGRES_USAGE_DEFAULTS: Omit<PostgresUsageConfig, 'url'> = {
  poolSize: 16,
  timeoutMs: 2_000,
  probeMs: 1_000,
  idleTransactionMs: 60_000,
  pruneMs: 60_000,
};

export function postgresUsageConfig(url: string, overrides: Partial<Omit<PostgresUsageConfig, 'url'>> = {}): PostgresUsageConfig {
  const c = { ...POSTGRES_USAGE_DEFAULTS, ...stripUndefined(overrides), url };
  if (!isPostgresUrl(url)) {
    throw new GavelError('config_invalid', `config usage.store must be a postgres:// or postgresql:// URL, got ${JSON.stringify(redactUrl(url))}`);
  }
  positiveInt('usage.store.poolSize', c.poolSize);
  positiveInt('usage.store.timeoutMs', c.timeoutMs);
  positiveInt('usage.store.probeMs', c.probeMs);
  positiveInt('usage.store.idleTransactionMs', c.idleTransactionMs);
  positiveInt('usage.store.pruneMs', c.pruneMs);
  return c;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** The URL without its password, for logs, errors and health. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}
