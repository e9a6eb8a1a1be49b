import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBundle } from '../../src/bundles/bundle.js';
import { clients } from '../helpers/client.js';
import { eventually } from '../helpers/health.js';
import { BUNDLES, FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { loadSamples } from '../helpers/samples.js';
import { runCli, startInProcess, type InProcessServer } from '../helpers/server.js';
import { decide } from '../usage/helpers.js';

const KEYWORD = parseBundle('ai', readFileSync(join(FIXTURE_BUNDLES, 'candidates/keyword-deny.tar.gz')));
const SLOW = parseBundle('ai', readFileSync(join(FIXTURE_BUNDLES, 'candidates/slow.tar.gz')));
const NAMES: Record<string, string> = {
  DECISION_ALLOW: 'allow',
  DECISION_DENY: 'deny',
  DECISION_REQUIRE_APPROVAL: 'require_approval',
  DECISION_REDACT: 'redact',
};

interface Row {
  decision_id: string;
  live_decision: string;
  live_reasons: string;
  shadow_decision: string;
  shadow_reasons: string;
  shadow_digest: string;
}

async function rows(srv: InProcessServer): Promise<Row[]> {
  await srv.core.parts.shadowSink!.flush();
  return srv.core.parts.ledger.db.prepare('SELECT * FROM shadow_decisions ORDER BY time_ms').all() as Row[];
}

async function metric(port: number, name: string): Promise<string[]> {
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return body.split('\n').filter((l) => l.startsWith(name));
}

// The last: shadow rows go to the ledger's writer thread (--ledger-thread), the serving thread's connection only reads.
describe.each([
  { workers: 0, thread: false },
  { workers: 2, thread: false },
  { workers: 2, thread: true },
])('shadow bundles on $workers evaluation workers, ledger thread $thread', ({ workers, thread }) => {
  it('see the live input and context after the answer; what they answered is stored and counted, the live answer unchanged', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const srv = await startInProcess(
      { bundles: BUNDLES, ledger, engine: { workers }, ledgerOptions: { thread }, shadow: {} },
      { metricsListen: '127.0.0.1:0' },
    );
    srv.core.policies.shadow!.activate([KEYWORD]);
    const c = clients(srv.address);
    const answered = new Map<string, { decision: string; codes: string[]; quarterly: boolean }>();
    try {
      const inputs: Array<Record<string, any>> = loadSamples().map((s) => s.input as Record<string, any>);
      // Usage-shaped decisions too: the shadow must see the usage the live decision saw.
      for (let i = 0; i < 6; i++) {
        inputs.push({
          subject: { id: 'planner', type: 'user', roles: ['ml-engineer', 'employee'], team: 'budget-test', cost_center: 'cc-research' },
          action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 900 } },
          content: { prompt: i % 2 ? 'the quarterly plan, section two' : 'a summary of the notes' },
          context: { environment: 'prod' },
        });
      }
      for (const input of inputs) {
        const res = await decide(c, input);
        const quarterly = typeof input.content?.prompt === 'string' && /quarterly/i.test(input.content.prompt);
        answered.set(res.decision_id, { decision: NAMES[res.decision]!, codes: res.reasons.map((r: { code: string }) => r.code), quarterly });
      }
      expect(await eventually(() => srv.core.policies.shadow!.queued === 0)).toBe(true);
      const stored = await rows(srv);
      expect(stored.map((r) => r.decision_id).sort()).toEqual([...answered.keys()].sort());
      for (const r of stored) {
        const live = answered.get(r.decision_id)!;
        expect(r.live_decision).toBe(live.decision);
        expect(JSON.parse(r.live_reasons)).toEqual(live.codes);
        expect(r.shadow_digest).toBe(KEYWORD.digest);
        if (live.quarterly) {
          expect(r.shadow_decision).toBe('deny');
          expect(JSON.parse(r.shadow_reasons)).toContain('keyword_blocked');
          expect(live.codes).not.toContain('keyword_blocked');
        } else {
          // Same input, same context (time, usage, history): the same answer as the live bundle.
          expect({ d: r.shadow_decision, codes: JSON.parse(r.shadow_reasons) }).toEqual({ d: live.decision, codes: live.codes });
        }
      }
      const diverged = [...answered.values()].filter((a) => a.quarterly && a.decision === 'allow').length;
      expect(diverged).toBeGreaterThan(0);
      const lines = await metric(srv.server.metricsPort!, 'gavel_shadow_decisions_total{');
      expect(lines).toContain(`gavel_shadow_decisions_total{live="allow",shadow="deny"} ${diverged}`);
      expect(await metric(srv.server.metricsPort!, 'gavel_shadow_dropped_total')).toEqual(['gavel_shadow_dropped_total 0']);
    } finally {
      c.close();
      await srv.stop();
    }
    // gavel shadow report reads the table: the same transitions as replay would print.
    const report = await runCli(['shadow', 'report', '--ledger', ledger, '--json']);
    expect(report.code).toBe(0);
    const r = JSON.parse(report.stdout);
    const changed = [...answered.values()].filter((a) => a.quarterly).length;
    expect(r).toMatchObject({ replayed: answered.size, changed, unchanged: answered.size - changed, approximate: 0 });
    expect(r.transitions.find((t: { from: string; to: string }) => t.from === 'allow' && t.to === 'deny').reasons_added).toMatchObject({
      keyword_blocked: expect.any(Number),
    });
    expect(r.shadow).toEqual([{ bundle: 'ai', revision: KEYWORD.revision, digest: KEYWORD.digest, count: answered.size }]);
  });
});

describe('a shadow bundle slower than any live decision', () => {
  it('answers live decisions without waiting for it; past the queue, shadow evaluations are dropped and counted', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const srv = await startInProcess({
      bundles: BUNDLES,
      ledger,
      // Room for the slow candidate's loops (about 2 s on its fresh instance), and no evaluation timeout before it ends.
      engine: { workers: 2, memoryMaxPages: 16384, evaluationTimeoutMs: 60_000 },
      shadow: { queue: 1 },
    });
    await srv.core.parts.engine.ready();
    srv.core.policies.shadow!.activate([SLOW]);
    const c = clients(srv.address);
    try {
      const input = loadSamples().find((s) => s.file === 'employee-standard-allowed.json')!.input;
      const answers = await Promise.all(Array.from({ length: 6 }, () => decide(c, input)));
      // Every live answer is back while the one shadow evaluation the queue holds still runs (about 2 s).
      expect(answers.map((a) => a.decision)).toEqual(Array(6).fill('DECISION_ALLOW'));
      const shadow = srv.core.policies.shadow!;
      expect(shadow.queued).toBe(1);
      expect(shadow.dropped).toBe(5);
      expect(await rows(srv)).toEqual([]);
      // While one worker runs the shadow evaluation, live decisions go to the other: none waits for it.
      for (let i = 0; i < 4; i++) expect((await decide(c, input)).decision).toBe('DECISION_ALLOW');
      expect(shadow.queued).toBe(1);
      expect(shadow.dropped).toBe(9);
      // About 2 s alone; on a machine busy with the rest of the suite it has taken over 10.
      expect(await eventually(() => shadow.queued === 0, 40_000)).toBe(true);
      expect((await rows(srv)).map((r) => [r.shadow_decision, r.shadow_reasons])).toEqual([['allow', '["allowed"]']]);
      // Nothing held: every job was discarded, the shadowed one after its evaluation.
      expect(await srv.core.parts.engine.heldByWorkers()).toEqual([0, 0]);
    } finally {
      c.close();
      await srv.stop();
    }
  });
});

describe('a shadow bundle whose evaluation runs past the evaluation timeout', () => {
  it('is switched off after it stopped its worker once; live decisions go on', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const srv = await startInProcess({
      bundles: BUNDLES,
      ledger,
      // The slow candidate's fresh instance takes about 2 s: past this timeout.
      engine: { workers: 2, memoryMaxPages: 16384, evaluationTimeoutMs: 500 },
      shadow: {},
    });
    await srv.core.parts.engine.ready();
    const shadow = srv.core.policies.shadow!;
    shadow.activate([SLOW]);
    const c = clients(srv.address);
    try {
      const input = loadSamples().find((s) => s.file === 'employee-standard-allowed.json')!.input;
      expect((await decide(c, input)).decision).toBe('DECISION_ALLOW');
      expect(await eventually(() => shadow.disabled === 1, 10_000)).toBe(true);
      expect(shadow.failed).toBe(1);
      expect(await eventually(() => srv.core.stats.workerRestarts === 1)).toBe(true);
      // Switched off: later decisions are not offered to it, and are answered.
      for (let i = 0; i < 3; i++) expect((await decide(c, input)).decision).toBe('DECISION_ALLOW');
      expect(shadow.queued).toBe(0);
      expect(shadow.failed).toBe(1);
      // A new shadow set gets another chance.
      shadow.activate([KEYWORD]);
      expect(shadow.disabled).toBe(0);
      await decide(c, input);
      expect(await eventually(async () => (await rows(srv)).length === 1)).toBe(true);
    } finally {
      c.close();
      await srv.stop();
    }
  });
});

describe('shadow under load', () => {
  it('every live answer comes from the live bundle; every shadow offer is evaluated and stored, or dropped and counted; nothing is left held', async () => {
    const ledger = join(tempDir(), 'ledger.db');
    const srv = await startInProcess({ bundles: BUNDLES, ledger, engine: { workers: 2 }, shadow: { queue: 8 } });
    await srv.core.parts.engine.ready();
    const shadow = srv.core.policies.shadow!;
    shadow.activate([KEYWORD]);
    const c = clients(srv.address);
    try {
      const base = loadSamples().find((s) => s.file === 'employee-standard-allowed.json')!.input as Record<string, any>;
      const inputs = Array.from({ length: 240 }, (_, i) => ({
        ...base,
        subject: { ...base.subject, id: `load-${i % 40}` },
        content: { prompt: i % 4 === 0 ? `quarterly numbers ${i}` : `notes ${i}` },
      }));
      // 240 decisions, 48 in flight at a time.
      const answers: Array<Record<string, any>> = [];
      for (let i = 0; i < inputs.length; i += 48) answers.push(...(await Promise.all(inputs.slice(i, i + 48).map((input) => decide(c, input)))));
      expect(answers.map((a) => a.decision)).toEqual(Array(240).fill('DECISION_ALLOW'));
      expect(await eventually(() => shadow.queued === 0, 10_000)).toBe(true);
      const evaluated = shadow.transitions().reduce((n, t) => n + t.count, 0);
      expect(evaluated + shadow.dropped + shadow.failed).toBe(240);
      expect(shadow.failed).toBe(0);
      expect(shadow.dropped).toBeGreaterThan(0);
      const stored = await rows(srv);
      expect(stored.length).toBe(evaluated);
      const byId = new Map(answers.map((a, i) => [a.decision_id as string, inputs[i]!]));
      for (const r of stored) expect(r.shadow_decision).toBe(/quarterly/.test(byId.get(r.decision_id)!.content.prompt) ? 'deny' : 'allow');
      expect(await srv.core.parts.engine.heldByWorkers()).toEqual([0, 0]);
    } finally {
      c.close();
      await srv.stop();
    }
  });
});
