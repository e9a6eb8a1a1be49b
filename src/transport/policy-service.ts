import type * as grpc from '@grpc/grpc-js';
import type { Engine } from '../engine/engine.js';
import type { QueryableLedger } from '../ledger/types.js';
import type { Logger } from '../log.js';
import { toServiceError } from './status.js';

/**
 * PolicyService.ListBundles: the bundles the engine evaluates with now, with
 * where each came from, who signed it and when it went live (its policy event
 * in the ledger), and what was refused since.
 */
export function policyService(engine: Engine, ledger: QueryableLedger, log: Logger): grpc.UntypedServiceImplementation {
  return {
    ListBundles: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      try {
        const status = ledger.policyStatus();
        const bundles = engine.policies.bundles.map((b) => {
          const event = status.active.find((s) => s.bundle === b.name && s.digest === b.digest);
          return {
            name: b.name,
            revision: b.revision,
            digest: b.digest,
            source: event?.source ?? '',
            signer: b.signer ?? '',
            activated_at: event?.activatedAt ?? '',
            entrypoints: b.entrypoints,
          };
        });
        const refusals = status.refusals.map((r) => ({ bundle: r.bundle, time: r.time, source: r.source, reason: r.reason }));
        callback(null, { bundles, refusals });
      } catch (err) {
        callback(toServiceError(err, log));
      }
    },
  };
}
