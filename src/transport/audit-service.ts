import type * as grpc from '@grpc/grpc-js';
import { GavelError } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { canonicalJson } from '../lib/canonical.js';
import {
  type AuditFace,
  type ErasureBasis,
  type ErasureCriteria,
  type OfflineDecision,
  type OfflineFace,
  oneCriterion,
  type QueryFilter,
  wireEntry,
} from '../runtime/faces.js';
import { wireReceipt } from '../runtime/faces.js';
import { callerOf } from './security/guard.js';
import { DECISION, ENTRY_KIND, MISMATCH_PROBLEM, OFFLINE_MODE, enumOf, stringOf } from './enum-twins.js';
import { toServiceError } from './status.js';

/** A LedgerEntry message: the entry's wire form and its enum twins. */
function entryMessage(entry: Parameters<typeof wireEntry>[0]): Record<string, unknown> {
  const wire = wireEntry(entry);
  return {
    ...wire,
    decision_enum: wire.kind === 'decision' ? enumOf(DECISION, wire.decision) : 'DECISION_UNSPECIFIED',
    kind_enum: enumOf(ENTRY_KIND, wire.kind),
  };
}

interface QueryMessage {
  subject: string;
  team: string;
  action: string;
  decision: string;
  since: string;
  until: string;
  revision: string;
  decision_id: string;
  limit: number;
  ascending: boolean;
  kind: string;
  decision_enum?: string;
  kind_enum?: string;
}

/** Verify reports the chain's result and, when the chain holds, the state table rows that disagree with it. */
interface RecordOfflineMessage {
  offline_id: string;
  decided_at: string;
  mode: string;
  decision: string;
  reasons: Array<{ code: string; message: string }>;
  input_json: Buffer;
  request_id: string;
  policy: string;
  policy_version?: { bundle: string; revision: string; digest: string } | null;
  cause: string;
}

export function auditService(audit: AuditFace, recordOffline: OfflineFace, log: Logger): grpc.UntypedServiceImplementation {
  const unary =
    <Req>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, unknown>) => unknown) =>
    (call: grpc.ServerUnaryCall<Req, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      Promise.resolve()
        .then(() => fn(call.request, call))
        .then(
          (answer) => callback(null, answer),
          (err: unknown) => callback(toServiceError(err, log)),
        )
        .catch((err: unknown) => log.error({ err }, 'an audit answer could not be sent'));
    };
  return {
    QueryDecisions: (call: grpc.ServerWritableStream<QueryMessage, unknown>) => {
      try {
        for (const entry of audit.query(filterOf(call.request))) {
          if (call.cancelled) break;
          call.write(entryMessage(entry));
        }
        call.end();
      } catch (err) {
        call.emit('error', toServiceError(err, log));
      }
    },
    GetDecision: unary((req: { decision_id: string }, call) => {
      if (!req.decision_id) throw new GavelError('invalid_query', 'decision_id is required');
      const entry = audit.get(req.decision_id);
      if (!entry) throw new GavelError('decision_not_found', `no decision ${req.decision_id} in the ledger`);
      // The header (with payload_hash) is audit; the redacted content itself needs its own role.
      const withheld = !callerOf(call).roles.has('audit-payloads');
      return {
        entry: entryMessage(entry),
        payload_json: entry.payload && !withheld ? Buffer.from(canonicalJson(entry.payload)) : Buffer.alloc(0),
        salt: withheld ? '' : (entry.salt ?? ''),
        payload_erased: entry.payload === null,
        payload_withheld: withheld,
        erased_by_seq: entry.erasedBy?.seq ?? 0,
      };
    }),
    Verify: (
      call: grpc.ServerUnaryCall<{ checkpoint: string; witness_keys: string[]; min_witnesses: number }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      const { checkpoint, witness_keys: keys, min_witnesses: min } = call.request;
      Promise.resolve()
        .then(() => audit.verify(checkpoint || undefined, keys.length > 0 || min > 0 ? { keys, min } : undefined))
        .then((report) =>
          callback(null, { ...report, state_mismatches: report.state_mismatches.map((m) => ({ ...m, problem_enum: enumOf(MISMATCH_PROBLEM, m.problem) })) }),
        )
        .catch((err: unknown) => callback(toServiceError(err, log)));
    },
    Erase: (call: grpc.ServerUnaryCall<EraseMessage, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const by = callerOf(call).id;
      Promise.resolve()
        .then(() => audit.erase({ criteria: criteriaOf(call.request), reason: call.request.reason, basis: call.request.basis as ErasureBasis, by }))
        .then((r) => {
          // The log names the erasure entry and the count, never the subject erased.
          log.info({ erasure_id: r.entry?.decisionId ?? '', erased: r.erased, basis: call.request.basis, caller: by }, 'payloads erased');
          callback(null, {
            erased: r.erased,
            seqs: r.seqs.map(([from, to]) => ({ from, to })),
            erasure_id: r.entry?.decisionId ?? '',
            ...(r.entry ? { receipt: wireReceipt(r.entry) } : {}),
          });
        })
        .catch((err: unknown) => callback(toServiceError(err, log)));
    },
    RecordOffline: (call: grpc.ServerUnaryCall<RecordOfflineMessage, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      Promise.resolve()
        .then(() => recordOffline(offlineOf(call.request, callerOf(call).id)))
        .then((r) => {
          log.info({ decision_id: r.decisionId, duplicate: r.duplicate, mode: call.request.mode, caller: callerOf(call).id }, 'offline decision recorded');
          callback(null, { decision_id: r.decisionId, duplicate: r.duplicate, receipt: wireReceipt(r.receipt) });
        })
        .catch((err: unknown) => callback(toServiceError(err, log)));
    },
    GetInclusionProof: unary((req: { decision_id: string; seq: string | number; tree_size: string | number }) => {
      const seq = Number(req.seq);
      if ((req.decision_id === '') === (seq === 0)) throw new GavelError('invalid_proof_request', 'name the entry with exactly one of decision_id and seq');
      return audit
        .inclusionProof(req.decision_id ? { decisionId: req.decision_id } : { seq }, Number(req.tree_size) || undefined)
        .then((p) => ({ ...p, hashes: p.hashes.map(fromHex), root_hash: fromHex(p.root_hash) }));
    }),
    GetConsistencyProof: unary((req: { from_size: string | number; to_size: string | number }) => {
      const p = audit.consistencyProof(Number(req.from_size), Number(req.to_size) || undefined);
      return { ...p, from_root: fromHex(p.from_root), to_root: fromHex(p.to_root), hashes: p.hashes.map(fromHex) };
    }),
    LatestCheckpoint: unary(() => {
      const c = audit.latestCheckpoint();
      return { note: c.note, size: c.size, head_hash: c.headHash, verifier_key: c.verifierKey };
    }),
  };
}

const fromHex = (hex: string) => Buffer.from(hex, 'hex');

/** A RecordOffline request as the engine's OfflineDecision; the engine checks what it holds. */
function offlineOf(m: RecordOfflineMessage, caller: string): OfflineDecision {
  const policy = m.policy_version;
  return {
    offlineId: m.offline_id,
    decidedAtMs: /^\d{4}-\d{2}-\d{2}T/.test(m.decided_at) ? Date.parse(m.decided_at) : Number.NaN,
    mode: (stringOf(OFFLINE_MODE, 'mode', '', m.mode, 'invalid_query') || 'unspecified') as OfflineDecision['mode'],
    decision: (stringOf(DECISION, 'decision', '', m.decision, 'invalid_query') || 'unspecified') as OfflineDecision['decision'],
    reasons: m.reasons.map((r) => ({ code: r.code, message: r.message })),
    input: { json: m.input_json },
    requestId: m.request_id,
    entrypoint: m.policy,
    ...(policy?.revision ? { policy: { bundle: policy.bundle, revision: policy.revision, digest: policy.digest } } : {}),
    cause: m.cause,
    caller,
  };
}

function filterOf(m: QueryMessage): QueryFilter {
  const f: QueryFilter = { order: m.ascending ? 'asc' : 'desc' };
  if (m.subject) f.subject = m.subject;
  if (m.team) f.team = m.team;
  if (m.action) f.action = m.action;
  const decision = stringOf(DECISION, 'decision', m.decision, m.decision_enum, 'invalid_query');
  const kind = stringOf(ENTRY_KIND, 'kind', m.kind, m.kind_enum, 'invalid_query');
  if (decision) f.decision = decision;
  if (m.since) f.since = m.since;
  if (m.until) f.until = m.until;
  if (m.revision) f.revision = m.revision;
  if (kind) f.kind = kind;
  if (m.decision_id) f.decisionId = m.decision_id;
  if (m.limit) f.limit = m.limit;
  return f;
}

interface EraseMessage {
  subject_id: string;
  decision_id: string;
  before: string;
  reason: string;
  basis: string;
}

/** Exactly one of subject_id, decision_id and before (proto3: empty is absent). */
function criteriaOf(m: EraseMessage): ErasureCriteria {
  const given = (text: string) => (text === '' ? undefined : text);
  return oneCriterion({ subject: given(m.subject_id), decision: given(m.decision_id), before: given(m.before) }, ['subject_id', 'decision_id', 'before']);
}
