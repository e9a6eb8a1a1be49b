import { isJsonObject, type JsonObject } from '../../lib/json.js';
import { type EntryDetail, wireEntry } from '../../runtime/faces.js';

/**
 * One ledger entry as an event of OPA's decision log service API, so a collector built for OPA
 * ingests gavel's entries unchanged: OPA's field names where a field maps (`decision_id`, `path`,
 * `input` — the masked input the ledger stored, never the original — `result`, `bundles`,
 * `timestamp`, `labels`), and gavel's own under `gavel`: the seq (the de-duplication key: delivery
 * is at least once), the entry's kind and header, and its hashes.
 */
export interface DecisionLogEvent {
  labels: { id: string; version: string; app: 'gavel' };
  decision_id: string;
  path: string;
  input?: JsonObject;
  result?: JsonObject;
  bundles: Record<string, { revision: string }>;
  timestamp: string;
  requested_by: string;
  gavel: Record<string, unknown> & { seq: number; kind: string; entry_hash: string };
}

export function decisionLogEvent(entry: EntryDetail, labels: { id: string; version: string }): DecisionLogEvent {
  const payload = entry.payload;
  const { payload_hash: _, ...header } = wireEntry(entry);
  const decision = entry.kind === 'decision' || entry.kind === 'offline';
  const input = decision && isJsonObject(payload?.input) ? payload.input : undefined;
  // A decision's result as the policy gave it; other kinds' payload is their whole story (an approval event, a settled report).
  const result = decision ? (isJsonObject(payload?.result) ? payload.result : undefined) : (payload ?? undefined);
  return {
    labels: { ...labels, app: 'gavel' },
    decision_id: entry.decisionId,
    path: entry.entrypoint || `gavel/${entry.kind}`,
    ...(input ? { input } : {}),
    ...(result ? { result } : {}),
    bundles: entry.bundle ? { [entry.bundle]: { revision: entry.revision } } : {},
    timestamp: entry.time,
    requested_by: entry.caller,
    gavel: { ...header, payload_erased: payload === null },
  };
}
