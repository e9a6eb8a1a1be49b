import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../log.js';
import type { DecideFace, DecideLimits } from '../../runtime/faces.js';
import { deadlineOf } from '../decision-service.js';
import type { Metrics } from '../metrics.js';
import { callerOf } from '../security/guard.js';
import { toServiceError } from '../status.js';
import { traceOf } from '../trace-context.js';
import { type CheckRequestMessage, checkInput } from './check-input.js';
import { checkResponse } from './check-response.js';
import type { DecidedRequests } from './decided-requests.js';
import type { ExtAuthzConfig } from './ext-authz-config.js';

export interface AuthorizationOptions {
  config: ExtAuthzConfig;
  limits: DecideLimits;
  /**
   * The operator's Envoy runs gavel's ext_proc filter after ext_authz: REDACT goes on (ext_proc
   * rewrites the body), and each decision that lets a request on is kept for its ext_proc call.
   */
  decided?: DecidedRequests;
  log: Logger;
  metrics?: Metrics;
}

/**
 * envoy.service.auth.v3.Authorization: each Check is one decision, as a Decide is (the caller's
 * identity and the `decide` role, one ledger entry, the same metrics), on the input the request's
 * attributes map to (check-input.ts); the answer is what Envoy acts on (check-response.ts). A
 * decision that cannot be made (gavel not ready, the ledger failing) is a gRPC error, which Envoy
 * turns into its `status_on_error` (403 by default) unless `failure_mode_allow` is set.
 */
export function authorizationService(decide: DecideFace, o: AuthorizationOptions): grpc.UntypedServiceImplementation {
  return {
    Check: (call: grpc.ServerUnaryCall<CheckRequestMessage, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      const trace = traceOf(call.metadata);
      const gone = new AbortController();
      const abort = () => gone.abort();
      call.once('cancelled', abort);
      const deadlineMs = deadlineOf(call);
      Promise.resolve()
        .then(async () => {
          const mapped = checkInput(call.request, o.config, o.limits);
          const d = await decide({
            policy: o.config.policy,
            input: { value: mapped.input },
            requestId: mapped.requestId,
            caller: callerOf(call).id,
            signal: gone.signal,
            ...(deadlineMs !== undefined ? { deadlineMs } : {}),
            ...(trace ? { trace } : {}),
            ...(mapped.refusal ? { refusal: mapped.refusal } : {}),
          });
          if (o.decided && (d.decision === 'allow' || d.decision === 'redact')) o.decided.put(mapped.requestId, mapped.body, d);
          return d;
        })
        .then((d) => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          o.metrics?.latency.observe({ method: 'Check' }, seconds);
          o.metrics?.decisions.inc({ decision: d.decision, entrypoint: d.entrypoint });
          o.log.debug({ decision_id: d.decisionId, decision: d.decision, codes: d.reasons.map((r) => r.code), seq: d.receipt.seq, envoy: true }, 'decided');
          callback(null, checkResponse(d, o.config, o.decided !== undefined));
        })
        .catch((err: unknown) => {
          const e = toServiceError(err, o.log);
          const code = String(e.metadata?.get('gavel-error-code')[0] ?? 'internal');
          o.metrics?.errors.inc({ method: 'Check', code });
          // Envoy shows the caller only its status_on_error: say here why (the code and message name no personal data).
          o.log.warn({ code, message: e.details }, 'ext_authz: a Check was not decided; Envoy answers its status_on_error');
          callback(e);
        })
        .finally(() => call.removeListener('cancelled', abort));
    },
  };
}
