import type { Bundle } from '../bundles/bundle.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { BundleSet } from './bundle-set.js';

/** What shadow delivery needs of the engine's shadow evaluation: activation whole (an empty set turns it off). */
export interface ShadowPolicies {
  activate(bundles: Bundle[]): void;
}

/**
 * The shadow bundle set: the shadow folder's bundles plus one per shadow bundle
 * URL, checked and activated whole like the live set (bundle-set.ts). Shadow
 * bundles decide nothing, so their changes are logged, not recorded in the
 * ledger; a refused change keeps the previous shadow set.
 */
export function shadowBundleSet(
  shadow: ShadowPolicies,
  log: Logger,
  start: { folder: Bundle[]; folderPath?: string; remote?: Array<{ url: string; bundle: Bundle }> },
): BundleSet {
  return new BundleSet(
    {
      activate: (next) => shadow.activate(next),
      activated: (next) =>
        log.info({ shadow_bundles: next.map((b) => ({ name: b.name, revision: b.revision, digest: b.digest })) }, 'shadow bundles activated'),
      refusedSet: (err) => log.error({ err: errorMessage(err) }, 'shadow bundle set refused; the shadow set is unchanged'),
      refusedSource: (err, _names, source) => log.error({ err: errorMessage(err), source }, 'shadow bundle refused; the shadow set is unchanged'),
    },
    start,
  );
}
