import type { Bundle } from '../bundles/bundle.js';

/** The policy that decided, as the ledger, the answer and the approval name it: bundle, revision, digest. */
export interface PolicyRef {
  bundle: string;
  revision: string;
  digest: string;
}

export function policyRef(bundle: Pick<Bundle, 'name' | 'revision' | 'digest'>): PolicyRef {
  return { bundle: bundle.name, revision: bundle.revision, digest: bundle.digest };
}
