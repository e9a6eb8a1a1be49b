import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLES } from '../helpers/paths.js';
import { runCli } from '../helpers/server.js';

describe('gavel eval', () => {
  it('evaluates a file through the engine and prints the decision as JSON on stdout', async () => {
    const r = await runCli(['eval', '--input', join(SAMPLES, 'finance-transfer-large-approval.json')]);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as { decision: string; reasons: Array<{ code: string }>; obligations: unknown; receipt: { seq: number } };
    expect(d.decision).toBe('require_approval');
    expect(d.reasons.map((x) => x.code)).toContain('amount_requires_approval');
    expect(d.receipt.seq).toBe(1);
  });

  it('reads stdin, and --now fixes the time the policy sees', async () => {
    const input = (JSON.parse(readFileSync(join(SAMPLES, 'employee-standard-allowed.json'), 'utf8')) as { input: unknown }).input;
    const r = await runCli(['eval', '--input', '-', '--now', '2026-01-05T09:00:00Z'], JSON.stringify(input));
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as { decision: string; evaluatedAt: string };
    expect(d).toMatchObject({ decision: 'allow', evaluatedAt: '2026-01-05T09:00:00.000Z' });
  });

  it('bad input exits non-zero with the reason on stderr and nothing on stdout', async () => {
    const r = await runCli(['eval', '--input', '-'], '[1,2,3]');
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('input must be a JSON object');
  });

  it('unknown flags exit 2', async () => {
    const r = await runCli(['eval', '--bogus']);
    expect(r.code).toBe(2);
  });
});

describe('flag values are checked when parsed', () => {
  it.each([
    [['eval', '--input', '-', '--now', 'yesterday'], '--now'],
    [['audit', 'query', '--ledger', '/nonexistent.db', '--limit', '999999'], '--limit'],
    [['serve', '--listen', 'nonsense'], '--listen'],
  ])('%j exits 2 naming the flag', async (args, flag) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(flag);
  });
});
