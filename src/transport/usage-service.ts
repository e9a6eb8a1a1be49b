import type * as grpc from '@grpc/grpc-js';
import { GavelError } from '../lib/errors.js';
import type { Logger } from '../log.js';
import type { ReportFace } from '../runtime/faces.js';
import { callerOf } from './security/guard.js';
import { USAGE_SCOPE, stringOf } from './enum-twins.js';
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

export function usageService(usage: ReportFace, log: Logger): grpc.UntypedServiceImplementation {
  return {
    Report: (call: grpc.ServerUnaryCall<ReportMessage, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const m = call.request;
      usage
        .report({
          decisionId: m.decision_id,
          subject: m.subject,
          team: m.team,
          costCenter: m.cost_center,
          model: m.model,
          inputTokens: Number(m.input_tokens),
          outputTokens: Number(m.output_tokens),
          cost: m.cost,
          reporter: callerOf(call).id,
        })
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
    GetUsage: (call: grpc.ServerUnaryCall<{ scope: string; key: string; scope_enum?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const { key } = call.request;
      Promise.resolve()
        .then(() => {
          const scope = stringOf(USAGE_SCOPE, 'scope', call.request.scope, call.request.scope_enum, 'invalid_query');
          if (scope !== 'subject' && scope !== 'team' && scope !== 'cost_center') {
            throw new GavelError('invalid_query', `scope must be subject, team or cost_center, got "${scope}"`);
          }
          if (!key) throw new GavelError('invalid_query', 'key is required');
          return usage.usage(scope, key);
        })
        .then((totals) => callback(null, { usage_json: Buffer.from(JSON.stringify(totals)) }))
        .catch((err: unknown) => callback(toServiceError(err, log)));
    },
  };
}
