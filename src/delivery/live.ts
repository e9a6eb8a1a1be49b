import type { Bundle } from '../bundles/bundle.js';
import type { PolicyEvent, PolicyEventResult } from '../engine/policy-event.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { BundleSet, changes } from './bundle-set.js';

/** What live delivery needs of the engine: the active set, activation whole, and the ledger's policy events. */
export interface LivePolicies {
  readonly bundles: readonly Bundle[];
  activate(bundles: Bundle[]): void;
  recordPolicyEvent(event: PolicyEvent): Promise<unknown>;
}

export interface LiveCallbacks {
  /** Every change seen, recorded or not (a repeated refusal is counted only): for metrics. */
  counted?: (bundle: string, result: PolicyEventResult) => void;
  /** The active set changed (health reads readiness again). */
  changed?: () => void;
}

/**
 * The live bundle set: the bundles folder's set plus one bundle per bundle URL
 * (bundle-set.ts), activated in the engine whole — it compiles every bundle first
 * and swaps in one step; workers load the new modules in message order — or
 * refused whole with the active set still serving. Every change is logged,
 * counted per bundle and recorded in the ledger as a policy event with its
 * source; a refusal that repeats the bundle's last one (a URL that keeps
 * failing) is counted, not recorded again.
 */
export function liveBundleSet(
  engine: LivePolicies,
  log: Logger,
  callbacks: LiveCallbacks,
  start: { folder: Bundle[]; folderPath?: string; remote?: Array<{ url: string; bundle: Bundle }> },
): BundleSet {
  const lastRefusal = new Map<string, string>();
  /** Counts the event and records it in the ledger; false when it repeats the bundle's last refusal (counted only). */
  const record = (event: Omit<PolicyEvent, 'source'>, source: string): boolean => {
    callbacks.counted?.(event.bundle, event.result);
    const key = `${source}\n${event.digest ?? ''}\n${event.reason ?? ''}`;
    if (event.result === 'refused') {
      if (lastRefusal.get(event.bundle) === key) return false;
      lastRefusal.set(event.bundle, key);
    } else {
      lastRefusal.delete(event.bundle);
    }
    engine
      .recordPolicyEvent({ ...event, source })
      .catch((err: unknown) =>
        log.error({ err: errorMessage(err), bundle: event.bundle, result: event.result }, 'policy event could not be recorded in the ledger'),
      );
    return true;
  };
  const set: BundleSet = new BundleSet(
    {
      activate: (next) => engine.activate(next),
      activated: (next, before) => {
        const { activated, deactivated } = changes(before, next);
        for (const b of activated) {
          record({ result: 'activated', ...described(b) }, set.source(b.name));
          log.info({ bundle: b.name, revision: b.revision, digest: b.digest, signer: b.signer, source: set.source(b.name) }, 'bundle activated');
        }
        for (const b of deactivated) {
          record({ result: 'deactivated', ...described(b), reason: 'its source no longer has it' }, set.source(b.name));
          log.warn({ bundle: b.name, revision: b.revision, digest: b.digest }, 'bundle deactivated; its entrypoints answer unknown_entrypoint');
        }
        callbacks.changed?.();
      },
      refusedSet: (err, candidates) => {
        const reason = errorMessage(err);
        for (const b of candidates) record({ result: 'refused', bundle: b.name, revision: b.revision, digest: b.digest, reason }, set.source(b.name));
        log.error({ err: reason, bundles: candidates.map((b) => b.name) }, 'bundle set refused; the active set keeps serving');
      },
      refusedSource: (err, names, source) => {
        const reason = errorMessage(err);
        const recorded = names.map((name) => record({ result: 'refused', bundle: name, reason }, source));
        if (recorded.includes(true)) log.error({ err: reason, source }, 'bundle refused; the active set keeps serving');
      },
    },
    start,
  );
  return set;
}

/** A bundle as a policy event describes it. */
export function described(b: Bundle): Omit<PolicyEvent, 'result' | 'source'> {
  return { bundle: b.name, revision: b.revision, digest: b.digest, entrypoints: b.entrypoints, ...(b.signer ? { signer: b.signer } : {}) };
}
