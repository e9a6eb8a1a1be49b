import type * as grpc from '@grpc/grpc-js';
import { closedOnFailure, GavelError } from '../lib/errors.js';
import { identityForm } from '../lib/identity-form.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log.js';
import type { QueryableLedger } from '../ledger/types.js';
import { applyReport } from '../usage/report.js';
import type { UsageConfig } from '../usage/config.js';
import type { Scope, UsageStore } from '../usage/store.js';
import { callerOf } from './security/guard.js';
import { toServiceError } from './status.js';

interface ReportMessage {
  decision_id: string;
  subject: string;
  team: string;
  cost_center: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cost: string;
}

export function usageService(
  store: UsageStore,
  config: Pick<UsageConfig, 'currency' | 'reportFactor'>,
  engine: Engine,
  ledger: QueryableLedger,
  log: Logger,
  now: () => Date,
): grpc.UntypedServiceImplementation {
  const ctx = {
    store,
    get bundles() {
      return engine.policies.bundles;
    },
    currency: config.currency,
    findDecision: (id: string) => {
      const e = ledger.get(id);
      return e ? { decision: e.decision, actionType: e.actionType, resource: e.resource, caller: e.caller } : undefined;
    },
    reportFactor: config.reportFactor,
    ledger,
    now,
  };
  return {
    Report: (call: grpc.ServerUnaryCall<ReportMessage, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const m = call.request;
      storeCall(() =>
        applyReport(ctx, {
          decisionId: m.decision_id,
          subject: m.subject,
          team: m.team,
          costCenter: m.cost_center,
          model: m.model,
          inputTokens: Number(m.input_tokens),
          outputTokens: Number(m.output_tokens),
          cost: m.cost,
          reporter: callerOf(call).id,
        }),
      )
        .then((receipt) => {
          log.debug({ decision_id: receipt.decisionId, duplicate: receipt.duplicate, tokens: receipt.tokens }, 'usage reported');
          callback(null, {
            decision_id: receipt.decisionId,
            duplicate: receipt.duplicate,
            cost: receipt.cost,
            currency: receipt.currency,
            tokens: receipt.tokens,
          });
        })
        .catch((err: unknown) => callback(toServiceError(err, log)));
    },
    GetUsage: (call: grpc.ServerUnaryCall<{ scope: string; key: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const { scope, key } = call.request;
      storeCall(async () => {
        if (scope !== 'subject' && scope !== 'team' && scope !== 'cost_center') {
          throw new GavelError('invalid_query', `scope must be subject, team or cost_center, got "${scope}"`);
        }
        if (!key) throw new GavelError('invalid_query', 'key is required');
        // Usage is kept under the comparison form of its subject, team or cost center (`Fiona` reads `fiona`'s).
        return store.usage(scope as Scope, identityForm(key), now().getTime());
      })
        .then((usage) => callback(null, { usage_json: Buffer.from(JSON.stringify(usage)) }))
        .catch((err: unknown) => callback(toServiceError(err, log)));
    },
  };
}

/** A failure of the store itself (locked, closed, disk) is UNAVAILABLE, like the decision path's. */
function storeCall<T>(body: () => Promise<T>): Promise<T> {
  return closedOnFailure('usage_unavailable', 'usage state could not be read or written', body);
}
