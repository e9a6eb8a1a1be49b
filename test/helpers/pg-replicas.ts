import { join } from 'node:path';
import { verifierKeyOf } from './ledger-keys.js';
import { startRuntime, type Runtime, type RuntimeConfig } from '../../src/runtime.js';
import { BUNDLES, tempDir } from './paths.js';
import { freshDatabase, postgresForTests } from './postgres.js';

/**
 * Replicas in this process sharing one PostgreSQL store: a throwaway server for the describe block
 * (started before, stopped after, with every runtime started here), a fresh database per set, and
 * each replica its own ledger file. `over(i)` adds to replica i's config (a clock, ledger faults).
 */
export function postgresReplicas(
  prefix: string,
  o: { peers?: boolean } = {},
): (n: number, over?: (i: number, url: string) => Partial<RuntimeConfig>) => Promise<{ url: string; all: Runtime[]; ledgers: string[] }> {
  const running: Runtime[] = [];
  const db = postgresForTests({
    beforeClose: async () => {
      for (const r of running) await r.stop().catch(() => undefined);
    },
  });
  return async (n, over = () => ({})) => {
    const url = await freshDatabase(db, prefix);
    const all: Runtime[] = [];
    const ledgers = Array.from({ length: n }, (_, i) => join(tempDir(), `replica-${i}.db`));
    // Each replica trusts the others' ledger keys (--peer-key): made by opening each ledger once first.
    const peerKeys = o.peers ? await Promise.all(ledgers.map(verifierKeyOf)) : [];
    for (let i = 0; i < n; i++) {
      const r = await startRuntime({
        bundles: BUNDLES,
        ledger: ledgers[i]!,
        usageStore: { url, timeoutMs: 2000, probeMs: 100, peerKeys: peerKeys.filter((_, j) => j !== i) },
        ...over(i, url),
      });
      all.push(r);
      running.push(r);
    }
    return { url, all, ledgers };
  };
}

/** Ledger faults that fail every commit while `failing()` says so. */
export function failingCommits(failing: () => boolean): Pick<RuntimeConfig, 'ledgerFaults'> {
  return {
    ledgerFaults: {
      beforeCommit: () => {
        if (failing()) throw new Error('disk full (injected)');
      },
    },
  };
}

export { verifierKeyOf };
