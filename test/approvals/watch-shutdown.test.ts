import { join } from 'node:path';
import { expect, it } from 'vitest';
import { clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess } from '../helpers/server.js';
import { decide, transfer, watch } from './helpers.js';

it('a shutting-down server ends open WatchApproval streams instead of waiting out its grace period on them', async () => {
  const srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') });
  const c = clients(srv.address);
  try {
    const id = (await decide(c, transfer(20_000))).approval.approval_id as string;
    let first!: () => void;
    const started = new Promise<void>((r) => (first = r));
    const seen = watch(c, id, () => first());
    await started;
    const t0 = Date.now();
    await srv.server.shutdown(10_000);
    expect((await seen).map((a) => a.state)).toEqual(['pending']);
    expect(Date.now() - t0).toBeLessThan(5_000);
  } finally {
    c.close();
    await srv.core.stop();
  }
});
