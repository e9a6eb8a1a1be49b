import type { Outcome } from './decision.js';
import type { JsonObject } from './json.js';

/** A decision of the local copy of gavel's bundle: what gavel would say, without ledger, usage or approvals. */
export interface FallbackDecision {
  decision: Outcome;
  reasons: Array<{ code: string; message: string; rule: string; effect: string }>;
  /** The input with the policy's redactions applied; absent when nothing was redacted. */
  redactedInput?: JsonObject;
  redactions: Array<{ path: string; kind: string }>;
  obligations: JsonObject;
  /** The bundle that decided: RecordOffline names it, so an auditor sees which revision decided offline. */
  policy: { bundle: string; revision: string; digest: string };
  entrypoint: string;
}

/**
 * The local evaluator a `fallback` route asks when gavel cannot be asked. The server package's
 * `openFallbackPolicy()` is the one to use: gavel's own bundle loading, signature verification,
 * evaluation and redaction, fed from the same bundle server and key as the gavel servers
 * (README "Routes and fail modes"). It is an option, not a dependency, so that clients without a
 * fallback route do not install the server.
 */
export interface FallbackPolicy {
  decide(request: { inputJson: Uint8Array; entrypoint: string; requestId: string }): Promise<FallbackDecision>;
  close(): Promise<void>;
}
