import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/runtime.js';
import { printable } from '../../src/cli/table.js';
import { tempDir } from '../helpers/paths.js';
import { runCli } from '../helpers/server.js';
import { copyLedger, coreOptions, decideVia, echoInput, openAsAttacker, sampleRecord } from '../ledger/fixtures.js';

/**
 * A stored value reaches an auditor's terminal through `gavel audit query` and
 * `gavel audit timeline`. Whatever a caller put in a subject id, a team or a
 * reason code, the table shows it escaped: it cannot clear the screen, forge a
 * row, overwrite one with a carriage return, or reorder one with bidi controls.
 */
const FAKE_ROW = '\n99  2025-01-01T00:00:00.000Z  mallory  payments  model.invoke  standard-m  allow  allowed';
const HOSTILE_SUBJECT = `\x1b[2J\x1b[Hmallory\r${FAKE_ROW}\x9b31m\x7f\x00\t`;
const HOSTILE_TEAM = 'pay\u202egnp.exe\u2066x\u2069\u2028';
const HOSTILE_CODE = `over_budget\r\n    fired: r.fake (allowed)${FAKE_ROW}`;

/** Anything that is not a printable character: C0, DEL, C1, bidi overrides and isolates, line separators. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let ledger: string;
beforeAll(async () => {
  ledger = join(tempDir(), 'ledger.db');
  const core = await startRuntime(coreOptions(ledger));
  await decideVia(core, echoInput({ subject: 'alice' }));
  // Decide now refuses such a subject id or team (invalid_input): these entries are as a ledger written before that holds them.
  const hostile = (id: string, decision: string, reasons: Array<Record<string, string>>) =>
    core.parts.ledger.append(
      sampleRecord({
        decisionId: id,
        time: new Date().toISOString(),
        subjectId: HOSTILE_SUBJECT,
        team: HOSTILE_TEAM,
        decision,
        reasonCodes: reasons.map((r) => r.code!),
        payload: { input: { subject: { id: HOSTILE_SUBJECT, team: HOSTILE_TEAM } }, result: { decision, reasons } },
      }),
    );
  await hostile('hostile-1', 'deny', [{ code: HOSTILE_CODE, rule: `r.x\x1b]0;owned\x07`, effect: 'deny' }]);
  await hostile('hostile-2', 'allow', [{ code: 'allowed', rule: 'r.default', effect: 'allow' }]);
  // Without a meter the caller's context.usage is kept: the timeline reads week tokens from it.
  await decideVia(core, echoInput({ subject: 'weekly', team: 'ops', extra: { context: { usage: { subject: { week: { tokens: 1234 } } } } } }));
  await core.stop();
});

const cli = (...args: string[]) => runCli(['audit', ...args, '--ledger', ledger]);

describe('table output escapes what a terminal would obey', () => {
  it('gavel audit query: one line per entry, no raw control bytes, values escaped', async () => {
    const res = await cli('query');
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(1 + 4); // header and four entries
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(['SEQ', '4', '3', '2', '1']);
    for (const l of lines) expect(l).not.toMatch(RAW_CONTROL);
    expect(lines[3]).toContain(printable(HOSTILE_SUBJECT));
    expect(lines[3]).toContain('\\x1b[2J\\x1b[Hmallory\\r\\n99');
    expect(lines[3]).toContain('\\x9b31m\\x7f\\x00\\t');
    expect(lines[3]).toContain('pay\\u202egnp.exe\\u2066x\\u2069\\u2028');
    expect(lines[3]).toContain('over_budget\\r\\n    fired: r.fake (allowed)\\n99');
  });

  it('gavel audit timeline: one heading per entry, rules and reasons escaped', async () => {
    // By team: an argument cannot carry the subject's NUL byte.
    const res = await cli('timeline', '--team', HOSTILE_TEAM);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).not.toMatch(RAW_CONTROL);
    const lines = res.stdout.split('\n');
    expect(lines.pop()).toBe('');
    const heads = lines.filter((l) => !l.startsWith(' '));
    expect(heads.map((l) => /#(\d+)/.exec(l)?.[1])).toEqual(['2', '3']);
    expect(heads[0]).toContain(`#2  ${printable(HOSTILE_SUBJECT)}  model.invoke standard-m  -> DENY`);
    expect(lines.filter((l) => l.startsWith('    fired: '))).toEqual([
      `    fired: r.x\\x1b]0;owned\\x07 (${printable(HOSTILE_CODE)})`,
      '    fired: r.default (allowed)',
    ]);
    expect(lines.filter((l) => l.includes('threshold crossed'))).toEqual([`    ** threshold crossed / new reason: ${printable(HOSTILE_CODE)}`]);
    expect(lines).toHaveLength(2 + 3);
  });

  it('--json is unchanged: the values come back exactly', async () => {
    const res = await cli('query', '--json');
    const entries = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { subject_id: string; team: string; reason_codes: string[] });
    expect(entries).toHaveLength(4);
    expect(entries[2]).toMatchObject({ subject_id: HOSTILE_SUBJECT, team: HOSTILE_TEAM, reason_codes: [HOSTILE_CODE] });
  });
});

describe('gavel audit verify', () => {
  it('a failure quoting a tampered stored hash prints it escaped', async () => {
    const copy = copyLedger(ledger);
    const db = openAsAttacker(copy);
    db.prepare('UPDATE entries SET entry_hash = ? WHERE seq = 2').run('00\x1b[2J\r\nok: 4 entries\u202e');
    db.close();
    const res = await runCli(['audit', 'verify', '--ledger', copy]);
    expect(res.code).toBe(1);
    expect(res.stdout).not.toMatch(RAW_CONTROL);
    expect(res.stdout.split('\n')).toEqual([
      expect.stringMatching(/^FAILED at seq 2 \(header_changed\): .*recorded 00\\x1b\[2J\\r\\nok: 4 entries\\u202e,/),
      '',
    ]);
  });
});

describe('timeline --json', () => {
  it('uses the wire vocabulary: snake_case keys, week_tokens when the decision saw usage', async () => {
    const res = await cli('timeline', '--team', 'ops', '--json');
    const [event, ...rest] = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({ seq: 4, subject_id: 'weekly', action_type: 'model.invoke', decision: 'allow', week_tokens: 1234 });
    expect(event!.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(event!).filter((k) => /[A-Z]/.test(k))).toEqual([]);
  });
});

describe('printable', () => {
  it.each<[string, string]>([
    ['plain text, ünïcödé and emoji 🙂 stay', 'plain text, ünïcödé and emoji 🙂 stay'],
    ['\x1b[31m', '\\x1b[31m'],
    ['a\rb\nc\td', 'a\\rb\\nc\\td'],
    ['\x00\x07\x08\x0b\x0c\x1f\x7f', '\\x00\\x07\\x08\\x0b\\x0c\\x1f\\x7f'],
    ['\x80\x85\x9b\x9f\xa0', '\\x80\\x85\\x9b\\x9f\xa0'],
    ['\u202a\u202b\u202c\u202d\u202e', '\\u202a\\u202b\\u202c\\u202d\\u202e'],
    ['\u2066\u2067\u2068\u2069', '\\u2066\\u2067\\u2068\\u2069'],
    ['\u200e\u200f\u061c\u2028\u2029', '\\u200e\\u200f\\u061c\\u2028\\u2029'],
    ['a literal \\x1b stays distinguishable', 'a literal \\\\x1b stays distinguishable'],
  ])('%j -> %j', (input, shown) => {
    expect(printable(input)).toBe(shown);
  });
});
