import type { Database } from 'better-sqlite3';
import { isJsonObject } from '../lib/json.js';
import { getEntry, policyEntries } from './query.js';

/** A bundle live as the ledger's policy events tell it. */
export interface BundleStatus {
  bundle: string;
  revision: string;
  digest: string;
  source: string;
  signer: string;
  entrypoints: string[];
  activatedAt: string;
  seq: number;
}

export interface BundleRefusal {
  bundle: string;
  time: string;
  source: string;
  reason: string;
  seq: number;
}

/** Refusals kept per bundle (newest). */
const REFUSALS_KEPT = 5;

/**
 * Which bundles are live and what was refused since, replayed from the
 * ledger's policy events (oldest first): an activation makes a bundle live, a
 * deactivation ends it; refusals are those after the bundle's last activation
 * (or of bundles never activated).
 */
export interface PolicyStatus {
  active: BundleStatus[];
  refusals: BundleRefusal[];
}

export function policyStatus(db: Database): PolicyStatus {
  const active = new Map<string, BundleStatus>();
  const refusals = new Map<string, BundleRefusal[]>();
  for (const e of policyEntries(db)) {
    const payload = getEntry(db, e.decisionId)?.payload;
    const event = isJsonObject(payload) && isJsonObject(payload.event) ? payload.event : {};
    const text = (k: string) => (typeof event[k] === 'string' ? (event[k] as string) : '');
    if (e.decision === 'activated') {
      active.set(e.bundle, {
        bundle: e.bundle,
        revision: e.revision,
        digest: e.digest,
        source: text('source'),
        signer: text('signer'),
        entrypoints: Array.isArray(event.entrypoints) ? event.entrypoints.filter((x): x is string => typeof x === 'string') : [],
        activatedAt: e.time,
        seq: e.seq,
      });
      refusals.delete(e.bundle);
    } else if (e.decision === 'deactivated') {
      active.delete(e.bundle);
    } else if (e.decision === 'refused') {
      const list = refusals.get(e.bundle) ?? [];
      list.unshift({ bundle: e.bundle, time: e.time, source: text('source'), reason: text('reason'), seq: e.seq });
      refusals.set(e.bundle, list.slice(0, REFUSALS_KEPT));
    }
  }
  return {
    active: [...active.values()].sort((a, b) => a.bundle.localeCompare(b.bundle)),
    refusals: [...refusals.values()].flat().sort((a, b) => b.seq - a.seq),
  };
}
