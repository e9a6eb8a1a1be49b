import type { RuntimeConfig } from '../../src/runtime.js';

/** The bundles folder watched live, as `gavel serve` does without bundle URLs (fast polling for tests). */
export function watchedFolder(
  path: string,
  o: { intervalMs?: number; verification?: NonNullable<RuntimeConfig['delivery']>['verification'] } = {},
): Pick<RuntimeConfig, 'bundles' | 'delivery'> {
  return {
    bundles: { folder: path, watch: true, watchIntervalMs: o.intervalMs ?? 25 },
    ...(o.verification ? { delivery: { verification: o.verification } } : {}),
  };
}
