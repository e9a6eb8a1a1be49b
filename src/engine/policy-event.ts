import { systemRecord, type EntryRecord } from './ledger.js';

export type PolicyEventResult = 'activated' | 'deactivated' | 'refused';

/** A change of the live policy, as the ledger records it (kind "policy"). */
export interface PolicyEvent {
  result: PolicyEventResult;
  /** The bundle's name (for a refused one: the file's name). */
  bundle: string;
  revision?: string;
  digest?: string;
  entrypoints?: string[];
  /** Where it came from: "folder:<path>", a bundle URL, "start". */
  source: string;
  /** The verification key id that signed it, when signatures are required. */
  signer?: string;
  /** Why it was refused (or deactivated). */
  reason?: string;
}

/**
 * The ledger record of a policy event: in the header, `action_type`
 * "policy.<result>", `resource` and `bundle` the bundle, `decision` the result,
 * `revision`/`digest` what went live (or stopped), `caller` "gavel" (the
 * server itself), `reason_codes` ["bundle_invalid"] for a refusal; the payload
 * holds source, signer, entrypoints and reason.
 */
export function policyEventRecord(e: PolicyEvent, now: Date): EntryRecord {
  return systemRecord(
    {
      kind: 'policy',
      actionType: `policy.${e.result}`,
      resource: e.bundle,
      decision: e.result,
      reasonCodes: e.result === 'refused' ? ['bundle_invalid'] : [],
      bundle: e.bundle,
      revision: e.revision ?? '',
      digest: e.digest ?? '',
    },
    {
      event: {
        result: e.result,
        bundle: e.bundle,
        revision: e.revision ?? '',
        digest: e.digest ?? '',
        entrypoints: e.entrypoints ?? [],
        source: e.source,
        signer: e.signer ?? '',
        reason: e.reason ?? '',
      },
    },
    now,
  );
}
