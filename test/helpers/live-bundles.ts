import type { Logger } from 'pino';
import type { BundleFolderWatcher } from '../../src/bundles/folder-watcher.js';
import { LiveBundles, type LiveBundlesOptions } from '../../src/cli/bundle-activation.js';
import type { Core } from '../../src/core.js';
import type { RunningServer } from '../../src/transport/server.js';

/** The bundles folder watched live for a core built from it alone, as `gavel serve` does without bundle URLs. */
export function watchBundles(core: Core, server: RunningServer, log: Logger, o: LiveBundlesOptions): BundleFolderWatcher {
  return new LiveBundles(core, server, log, { folder: [...core.engine.policies.bundles], folderPath: o.path }).watchFolder(o);
}
