import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundles } from '../../src/bundles/loader.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { BUNDLES } from '../helpers/paths.js';
import { modelCall } from './helpers.js';

/**
 * A tier-down obligation (route.model) changes which model will run, so the
 * reservation must be priced at the routed model, not the one asked for.
 * Everything expected is derived from the reference bundle's data: the team
 * budget of "budget-test", the tier ladder, and the price table. Only public
 * surfaces are used: startRuntime, runtime.decide and the usage store's charge.
 */
interface Price {
  tier: string;
  input_per_1k: string;
  output_per_1k: string;
}
interface Rung {
  at_ratio: number;
  route: Record<string, string>;
}

const TEAM = 'budget-test';
const data = loadBundles(BUNDLES).find((b) => b.entrypoints.includes('gavel/ai/decision'))!.data as unknown as {
  gavel: {
    pricing: { models: Record<string, Price> };
    ai_config: { budgets: { team_weekly_tokens: { by_team: Record<string, number> }; team_tier_ladder: { rungs: Rung[]; deny_at_ratio: number } } };
  };
};
const prices = data.gavel.pricing.models;
const budgets = data.gavel.ai_config.budgets;
const teamBudget = budgets.team_weekly_tokens.by_team[TEAM]!;

/** Decimal price string -> micro-units, exactly (no float multiply). */
function micros(decimal: string): number {
  const [whole, frac = ''] = decimal.split('.');
  return Number(whole) * 1_000_000 + Number(frac.padEnd(6, '0').slice(0, 6));
}
/** Cost of a call in micro-units, rounded up (an estimate never undercounts). */
function expectedCost(model: string, inputTokens: number, outputTokens: number): number {
  const p = prices[model]!;
  return Math.ceil((inputTokens * micros(p.input_per_1k) + outputTokens * micros(p.output_per_1k)) / 1000);
}

const ASKED = 'standard-m';
// The top rung of the ladder routes the asked model's tier somewhere cheaper.
const rung = [...budgets.team_tier_ladder.rungs].sort((a, b) => b.at_ratio - a.at_ratio).find((r) => r.route[prices[ASKED]!.tier])!;
const ROUTED = rung.route[prices[ASKED]!.tier]!;

let core: Runtime;
beforeAll(async () => {
  core = await startRuntime({ bundles: BUNDLES, ledger: ':memory:', now: () => new Date('2026-03-04T10:00:00Z') });
});
afterAll(() => core.stop());

const decide = (input: unknown) => core.decide({ policy: '', input: { value: input }, requestId: randomUUID(), caller: 'test' });

describe('tier-down reservation', () => {
  it('is priced at the routed model, not the asked one', async () => {
    expect(ROUTED).toBeDefined();
    expect(ROUTED).not.toBe(ASKED);

    // Fill the team's week to the top rung: an empty prompt reserves exactly max_tokens.
    const fill = Math.ceil(teamBudget * rung.at_ratio);
    const filler = await decide(modelCall({ subject: 'filler', team: TEAM, costCenter: 'cc-tier' }, ASKED, fill, ''));
    expect(filler.decision).toBe('allow');
    expect(filler.obligations).toEqual({});
    expect((await core.parts.usage!.charge(filler.decisionId))!.tokens).toBe(fill);

    // The call under test: asked for ASKED, routed down because the team budget is nearly spent.
    const prompt = 'x'.repeat(40); // 10 input tokens at ~4 characters a token
    const maxTokens = 100;
    const d = await decide(modelCall({ subject: 'erin', team: TEAM, costCenter: 'cc-tier' }, ASKED, maxTokens, prompt));
    expect(d.decision).toBe('allow');
    expect(d.obligations).toEqual({ route: { model: ROUTED } });
    expect(d.reasons.map((r) => r.code)).toContain('budget_tier_down');

    const inputTokens = prompt.length / 4;
    const routedCost = expectedCost(ROUTED, inputTokens, maxTokens);
    const askedCost = expectedCost(ASKED, inputTokens, maxTokens);
    expect(routedCost).not.toBe(askedCost);

    const charge = await core.parts.usage!.charge(d.decisionId);
    expect(charge).toMatchObject({
      state: 'reserved',
      model: ROUTED,
      tier: prices[ROUTED]!.tier,
      tokens: inputTokens + maxTokens,
      costMicros: routedCost,
    });
    expect(charge!.tier).not.toBe(prices[ASKED]!.tier);
  });
});
