import { join } from 'node:path';
import { expect, it } from 'vitest';
import { clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { failedStart, startChild, type ChildServer } from '../helpers/server.js';
import { decide, modelCall, report, usageOf, type Caller } from '../usage/helpers.js';

/**
 * One `gavel serve` on its ledger file, restarted with another --time-zone: refused (exit 3, both
 * zones and the way out named), as replicas sharing PostgreSQL are; --rebuild-usage-time-zone
 * re-buckets the day totals on purpose.
 */
async function stop(srv: ChildServer): Promise<void> {
  srv.child.kill('SIGTERM');
  await srv.exited;
}

it('a restart with another --time-zone is refused until --rebuild-usage-time-zone asks for the re-bucketing', async () => {
  const ledger = join(tempDir(), 'l.db');
  const args = ['--bundles', BUNDLES, '--ledger', ledger, '--workers', '0'];
  const who: Caller = { subject: 'tz-user', team: 'tz-team', costCenter: 'cc-tz' };
  const first = await startChild([...args, '--time-zone', 'Pacific/Kiritimati']);
  const c = clients(first.address);
  try {
    const d = await decide(c, modelCall(who));
    await report(c, d.decision_id, who, 'standard-m', 1, 90);
    expect((await usageOf(c, 'team', 'tz-team')).week.used_tokens).toBe(91);
  } finally {
    c.close();
    await stop(first);
  }

  const refused = await failedStart([...args, '--time-zone', 'UTC']);
  expect(refused).toMatch(/exited with 3/);
  expect(refused).toContain(`the usage state in ${ledger} keeps its days in time zone Pacific/Kiritimati, and this start is configured for UTC`);
  expect(refused).toContain('start with --time-zone Pacific/Kiritimati, or add --rebuild-usage-time-zone');

  const rebuilt = await startChild([...args, '--time-zone', 'UTC', '--rebuild-usage-time-zone']);
  const again = clients(rebuilt.address);
  try {
    // Re-bucketed: the charge, minutes old, is on today's UTC date (kept under Kiritimati's date, 14 hours ahead, it is missed for most of the day).
    expect((await usageOf(again, 'team', 'tz-team')).day.used_tokens).toBe(91);
  } finally {
    again.close();
    await stop(rebuilt);
  }
  // From then on UTC is the recorded zone: no flag needed.
  const later = await startChild([...args, '--time-zone', 'UTC']);
  await stop(later);
}, 60_000);
