import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/paths.js';

/**
 * scripts/mutation-score.ts, the README's mutation scores: a file measured twice counts its later
 * report; parts that mutate one file by line ranges add up.
 */
type Status = 'Killed' | 'Survived' | 'Timeout' | 'NoCoverage' | 'Ignored';

function mutant(line: number, status: Status, mutatorName = 'ConditionalExpression') {
  return { id: String(line), mutatorName, replacement: 'true', status, location: { start: { line, column: 1 }, end: { line, column: 9 } } };
}

/** The script's lines as folder -> "score (detected/total)". */
function score(reports: Array<Record<string, Array<ReturnType<typeof mutant>>>>): Record<string, string> {
  const dir = tempDir('gavel-mutation-score-');
  const paths = reports.map((files, i) => {
    const path = join(dir, `report-${i}.json`);
    writeFileSync(path, JSON.stringify({ files: Object.fromEntries(Object.entries(files).map(([f, mutants]) => [f, { mutants }])) }));
    return path;
  });
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/mutation-score.ts'), ...paths], { encoding: 'utf8' });
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => {
        const [name, pct, counts] = line.trim().split(/\s+/);
        return [name, `${pct} ${counts}`];
      }),
  );
}

describe('mutation-score', () => {
  it('counts killed and timed out against all but ignored, per folder and in all', () => {
    const out = score([
      { 'src/usage/a.ts': [mutant(1, 'Killed'), mutant(2, 'Timeout'), mutant(3, 'Survived'), mutant(4, 'NoCoverage'), mutant(5, 'Ignored')] },
    ]);
    expect(out).toEqual({ all: '50.00% (2/4)', 'src/usage': '50.00% (2/4)' });
  });

  it('a file measured again counts its later report only', () => {
    const first = { 'src/usage/a.ts': [mutant(1, 'Survived'), mutant(2, 'Survived'), mutant(3, 'Killed')] };
    const again = { 'src/usage/a.ts': [mutant(1, 'Killed'), mutant(2, 'Killed')] };
    expect(score([first, again])['src/usage']).toBe('100.00% (2/2)');
    expect(score([again, first])['src/usage']).toBe('33.33% (1/3)');
  });

  it('parts of one file by line range add up', () => {
    const top = { 'src/usage/a.ts': [mutant(1, 'Killed'), mutant(2, 'Survived')] };
    const bottom = { 'src/usage/a.ts': [mutant(10, 'Killed'), mutant(11, 'Killed')], 'src/engine/b.ts': [mutant(1, 'Survived')] };
    const out = score([top, bottom]);
    expect(out).toEqual({ all: '60.00% (3/5)', 'src/engine': '0.00% (0/1)', 'src/usage': '75.00% (3/4)' });
  });
});
