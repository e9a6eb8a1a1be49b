import type * as grpc from '@grpc/grpc-js';
import { GavelError } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { canonicalJson } from '../lib/canonical.js';
import { type AuditFace, type QueryFilter, wireEntry } from '../runtime/faces.js';
import { callerOf } from './security/guard.js';
import { toServiceError } from './status.js';

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
}

/** Verify reports the chain's result and, when the chain holds, the state table rows that disagree with it. */
export function auditService(audit: AuditFace, log: Logger): grpc.UntypedServiceImplementation {
  const unary =
    <Req>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, unknown>) => unknown) =>
    (call: grpc.ServerUnaryCall<Req, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      try {
        callback(null, fn(call.request, call));
      } catch (err) {
        callback(toServiceError(err, log));
      }
    };
  return {
    QueryDecisions: (call: grpc.ServerWritableStream<QueryMessage, unknown>) => {
      try {
        for (const entry of audit.query(filterOf(call.request))) {
          if (call.cancelled) break;
          call.write(wireEntry(entry));
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
        entry: wireEntry(entry),
        payload_json: entry.payload && !withheld ? Buffer.from(canonicalJson(entry.payload)) : Buffer.alloc(0),
        salt: withheld ? '' : (entry.salt ?? ''),
        payload_erased: entry.payload === null,
        payload_withheld: withheld,
      };
    }),
    Verify: (call: grpc.ServerUnaryCall<{ checkpoint: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      audit
        .verify(call.request.checkpoint || undefined)
        .then((report) => callback(null, report))
        .catch((err: unknown) => callback(toServiceError(err, log)));
    },
    LatestCheckpoint: unary(() => {
      const c = audit.latestCheckpoint();
      return { note: c.note, size: c.size, head_hash: c.headHash, verifier_key: c.verifierKey };
    }),
  };
}

function filterOf(m: QueryMessage): QueryFilter {
  const f: QueryFilter = { order: m.ascending ? 'asc' : 'desc' };
  if (m.subject) f.subject = m.subject;
  if (m.team) f.team = m.team;
  if (m.action) f.action = m.action;
  if (m.decision) f.decision = m.decision;
  if (m.since) f.since = m.since;
  if (m.until) f.until = m.until;
  if (m.revision) f.revision = m.revision;
  if (m.kind) f.kind = m.kind;
  if (m.decision_id) f.decisionId = m.decision_id;
  if (m.limit) f.limit = m.limit;
  return f;
}
