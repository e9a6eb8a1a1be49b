import { GavelError, errorMessage, type ErrorCode } from '../../lib/errors.js';
import type { Recalled } from '../idempotency.js';
import type { Bundle } from '../../bundles/bundle.js';
import type { EvaluatorLimits } from '../evaluator.js';
import type { HeaderFacts } from '../header-facts.js';
import type { InputLimits } from '../input.js';
import type { EvaluateRequest, Evaluated, PrepareRequest, ShadowOutcome } from '../stages.js';
import type { UsageFacts } from '../usage-facts.js';
import type { ActionBinding } from '../approvals/fingerprint.js';
import type { HeadOnWire } from '../../lib/deflate-head.js';

/**
 * The messages between the pool (the engine's thread) and an evaluation
 * worker. They travel as lists, each side's messages of one turn of its event
 * loop posted together (lib/outbox.ts), and one MessagePort per worker
 * delivers them in order, which the pool relies on: a bundle is loaded before
 * the first evaluation that names it, and dropped only after every evaluation
 * posted before the drop.
 */

export interface WorkerSetup {
  limits: InputLimits & EvaluatorLimits;
}

/** A bundle as a worker receives it: the module compiled once by the pool, no wasm bytes. */
export interface BundleLoad {
  key: string;
  bundle: Omit<Bundle, 'wasm'>;
  module: WebAssembly.Module;
}

export type ToWorker =
  | { t: 'load'; load: BundleLoad }
  | { t: 'drop-bundle'; key: string }
  | { t: 'prepare'; id: number; req: PrepareRequest }
  | { t: 'evaluate'; id: number; key: string; req: EvaluateRequest }
  | { t: 'shadow'; id: number; key: string; req: EvaluateRequest }
  | { t: 'drop'; id: number }
  | { t: 'ping'; id: number };

export interface PreparedReply {
  header: HeaderFacts;
  facts: UsageFacts;
  binding: ActionBinding;
  recalled?: Recalled;
}

/** An error as it crosses the boundary: a GavelError keeps its stable code; anything else is internal. */
export interface WireFault {
  code: string;
  message: string;
  /** True for a GavelError (its code is one of ERROR_CODES). */
  gavel: boolean;
}

/** An error as a worker sends it. */
export function toWire(err: unknown): WireFault {
  if (err instanceof GavelError) return { code: err.code, message: err.message, gavel: true };
  return { code: 'internal', message: errorMessage(err), gavel: false };
}

/** An error as the pool receives it: a GavelError again, with its code, or a plain Error. */
export function fromWire(f: WireFault): Error {
  return f.gavel ? new GavelError(f.code as ErrorCode, f.message) : new Error(f.message);
}

/** What one worker keeps in memory, as it answers a ping. */
export interface WorkerCensus {
  /** Prepared inputs: decisions the engine has not dropped yet. */
  held: number;
  /** Bundles loaded (one wasm instance each). */
  bundles: number;
}

export type FromWorker =
  | { t: 'prepared'; id: number; value: PreparedReply }
  /**
   * `ms`: how long the evaluation itself took on the worker (the pool's evidence that a bundle evaluates fast).
   * `head`: the payload deflated but its last `}` (lib/deflate-head.ts), the record's `payloadHead` once received.
   */
  | { t: 'evaluated'; id: number; value: Evaluated; ms: number; head: HeadOnWire }
  | { t: 'shadowed'; id: number; value: ShadowOutcome }
  /** What the worker keeps: prepared inputs (each one a decision the engine has not dropped yet) and bundles loaded. */
  | { t: 'pong'; id: number; census: WorkerCensus }
  /** Sent once, when the worker has loaded its code and listens. */
  | { t: 'started' }
  | { t: 'fault'; id: number; fault: WireFault };
