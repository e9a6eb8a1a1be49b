import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { tempDir } from '../helpers/paths.js';
import { coreOptions, decideVia, echoInput } from './fixtures.js';

/** Budget reasons per UTC day, as the console's Budgets page counts them: exact codes, each day once. */
describe('reasons per day', () => {
  let core: Runtime;
  const DAY = 86_400_000;
  const today = Math.floor(Date.now() / DAY) * DAY;
  let now = today - 2 * DAY + 3_600_000;
  beforeAll(async () => {
    core = await startRuntime({ ...coreOptions(join(tempDir(), 'ledger.db')), now: () => new Date(now) });
    const decide = (codes: string[]) => decideVia(core, echoInput({ decision: 'allow', reasons: codes.map((code) => ({ code, rule: 'r', effect: 'allow' })) }));
    await decide(['budget_tier_down']);
    await decide(['budget_tier_down', 'allowed']);
    await decide(['budget_tier_down_x']);
    now += DAY;
    await decide(['team_budget_exhausted']);
    await decide(['allowed']);
    now += DAY;
    await decide(['budget_tier_down']);
  });
  afterAll(() => core.stop());

  it('counts each code per day, exactly (a longer code with the same start is another code), and the ended days are kept', async () => {
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const codes = ['budget_tier_down', 'team_budget_exhausted'];
    const first = await core.audit.view.reasonsByDay(codes, today - 5 * DAY);
    expect(first).toEqual([
      { day: day(today - 2 * DAY), code: 'budget_tier_down', count: 2 },
      { day: day(today - DAY), code: 'team_budget_exhausted', count: 1 },
      { day: day(today), code: 'budget_tier_down', count: 1 },
    ]);
    await decideVia(core, echoInput({ decision: 'allow', reasons: [{ code: 'budget_tier_down', rule: 'r', effect: 'allow' }] }));
    const second = await core.audit.view.reasonsByDay(codes, today - 5 * DAY);
    expect(second.at(-1)).toEqual({ day: day(today), code: 'budget_tier_down', count: 2 });
    expect(second.slice(0, 2)).toEqual(first.slice(0, 2));
    expect(await core.audit.view.reasonsByDay([], today - 5 * DAY)).toEqual([]);
  });
});
