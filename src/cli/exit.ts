/** Distinct exit codes, documented in the README ("CLI"). */
export const EXIT = {
  ok: 0,
  /** The check ran and found a problem (verification failed, no checkpoint yet). */
  failed: 1,
  /** Bad flags or arguments. */
  usage: 2,
  /** Could not run: unreadable ledger, bad bundle, bad config. */
  error: 3,
} as const;
