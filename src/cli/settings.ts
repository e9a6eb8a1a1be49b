import { availableParallelism } from 'node:os';

/** Defaults shared by every command; flags override environment, environment overrides these. */
export const DEFAULTS = {
  listen: process.env.GAVEL_LISTEN ?? '127.0.0.1:50051',
  bundles: process.env.GAVEL_BUNDLES ?? './bundles',
  ledger: process.env.GAVEL_LEDGER ?? './data/ledger.db',
  durability: process.env.GAVEL_DURABILITY ?? 'normal',
  timeZone: process.env.GAVEL_TIME_ZONE ?? 'UTC',
  /** One evaluation worker per core: the I/O thread's own work (gRPC, usage, ledger) is small beside evaluation. */
  // A string from the environment is checked by `gavel serve`, which names GAVEL_WORKERS when it is bad.
  workers: process.env.GAVEL_WORKERS ?? availableParallelism(),
};
