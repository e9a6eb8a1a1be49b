import { bundleVerification, type KeySpec } from './bundles/verification-keys.js';
import type { Decision } from './engine/engine.js';
import { GavelError } from './lib/errors.js';
import { startRuntime } from './runtime.js';

/**
 * Where an enforcement point's local copy of gavel's signed bundle comes from, and the key it must
 * be signed with: the same bundle server and key the gavel servers use (README "Routes and fail modes").
 */
export interface FallbackPolicyOptions {
  /** The bundle server's URLs (polled with ETag, as `gavel serve --bundle-url` does). */
  urls?: string[];
  /** Or a folder of bundles (or one bundle file). */
  folder?: string;
  /** The verification keys: at least one. An unsigned bundle is never evaluated in place of gavel. */
  keys: KeySpec[];
  /** The scope the signatures must carry, when the servers require one. */
  scope?: string;
  /** The bundle server's bearer token. */
  token?: string;
  /** How often the bundle URLs are polled for a new revision (default: delivery's). */
  pollSeconds?: number;
  /** Where downloaded bundles are kept, so a restart during an outage still has the last verified copy. */
  cacheDir?: string;
}

/** A decision of the local copy: what gavel's would say, without ledger, usage or approvals. */
export interface FallbackDecision {
  decision: Decision['decision'];
  reasons: Decision['reasons'];
  redactedInput?: Decision['redactedInput'];
  redactions: Decision['redactions'];
  obligations: Decision['obligations'];
  policy: Decision['policy'];
  entrypoint: string;
}

/** The shape `@gavel-pdp/client` takes as its `fallback` option. */
export interface FallbackPolicy {
  decide(request: { inputJson: Uint8Array; entrypoint: string; requestId: string }): Promise<FallbackDecision>;
  close(): Promise<void>;
}

/**
 * The local evaluator of a client's `fallback` routes: gavel's own runtime, loading and verifying the
 * bundle as a server does and activating new revisions all or nothing, but with nothing of its own
 * to remember: the ledger is in memory (the client's outbox is the record until gavel records it as
 * an `offline` entry), there is no usage state (budgets cannot be known offline: the input's own
 * `context.usage` reaches the policy) and no approvals (a REQUIRE_APPROVAL comes back without a request).
 */
export async function openFallbackPolicy(o: FallbackPolicyOptions): Promise<FallbackPolicy> {
  if (!Array.isArray(o.keys) || o.keys.length === 0) {
    throw new GavelError('config_invalid', 'fallback policy: keys is required: only a bundle signed with the servers’ key may decide in their place');
  }
  if (!o.folder && !(o.urls && o.urls.length > 0)) throw new GavelError('config_invalid', 'fallback policy: give urls (the bundle server) or folder');
  const runtime = await startRuntime({
    bundles: { ...(o.folder ? { folder: o.folder } : {}), ...(o.urls ? { urls: o.urls } : {}) },
    delivery: {
      verification: bundleVerification(o.keys, o.scope),
      ...(o.token ? { token: o.token } : {}),
      ...(o.pollSeconds !== undefined ? { pollSeconds: o.pollSeconds } : {}),
      ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    },
    ledger: ':memory:',
    usage: false,
    approvals: false,
  });
  let closed = false;
  return {
    async decide(request) {
      if (closed) throw new GavelError('not_ready', 'the fallback policy is closed');
      const d = await runtime.decide({ policy: request.entrypoint, input: { json: request.inputJson }, requestId: request.requestId, caller: 'fallback' });
      return {
        decision: d.decision,
        reasons: d.reasons,
        ...(d.redactedInput ? { redactedInput: d.redactedInput } : {}),
        redactions: d.redactions,
        obligations: d.obligations,
        policy: d.policy,
        entrypoint: d.entrypoint,
      };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await runtime.stop();
    },
  };
}
