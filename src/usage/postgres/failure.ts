import pg from 'pg';
import { GavelError } from '../../lib/errors.js';

/**
 * The database is gone or too slow (health goes down): a client-side failure with no SQLSTATE
 * (refused, reset, timed out), a connection exception (08), a shutdown (57P0x), a statement past
 * its deadline (57014) or exhausted resources (53). A refusal of one call's data (bad text, say)
 * is that call's failure alone: one bad request must not mark the store down for everyone.
 */
export function isDown(err: unknown): boolean {
  if (!(err instanceof pg.DatabaseError)) return true;
  const code = err.code ?? '';
  return code.startsWith('08') || code.startsWith('57P') || code === '57014' || code.startsWith('53');
}

/**
 * The database's own error behind a failure, as the store's guard wraps it (a GavelError's cause):
 * its SQLSTATE and, for a constraint violation, the constraint.
 */
export function databaseErrorOf(err: unknown): { code?: string; constraint?: string } | undefined {
  const e = err instanceof GavelError ? err.cause : err;
  return e instanceof pg.DatabaseError ? e : undefined;
}

/** Lock and serialization waits: the database is up, one budget was busy past the deadline. */
export function isContention(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === '55P03' || code === '40001' || code === '40P01';
}
