/**
 * What the embedded store calls before it reads one of its tables: the runtime's
 * check that nobody but this server wrote the file since (state/guard.ts).
 */
export interface StateReadGuard {
  check(): void;
}
