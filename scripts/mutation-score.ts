/**
 * Mutation score per folder and overall from one or more Stryker JSON reports
 * (mutation-testing-report-schema), later reports winning for a file that
 * appears twice — so a run per folder adds up to the score of the three —
 * unless the two hold mutants at different places only: parts that mutate one
 * file by line ranges (`src/x.ts:1-400`, `src/x.ts:401-800`) add up.
 *
 *   npx tsx scripts/mutation-score.ts reports/mutation/ledger.json reports/mutation/engine-usage.json
 *
 * Score = (killed + timeout) / (all mutants - ignored): no-coverage and
 * survived count against it, as in Stryker's own "total" column.
 */
import { readFileSync } from 'node:fs';

type Status = 'Killed' | 'Timeout' | 'Survived' | 'NoCoverage' | 'Ignored' | 'RuntimeError' | 'CompileError' | 'Pending';
interface Mutant {
  status: Status;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
  mutatorName: string;
  replacement?: string;
}
interface Report {
  files: Record<string, { mutants: Mutant[] }>;
}

/** Where a mutant is and what it does: the same in two reports of one file's same code. */
function placeOf(m: Mutant): string {
  const { start, end } = m.location;
  return `${start.line}:${start.column}-${end.line}:${end.column} ${m.mutatorName} ${m.replacement ?? ''}`;
}

const byFile = new Map<string, Map<string, Status>>();
for (const path of process.argv.slice(2)) {
  const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
  for (const [file, { mutants }] of Object.entries(report.files)) {
    const next = new Map(mutants.map((m) => [placeOf(m), m.status]));
    const before = byFile.get(file);
    // A report of other lines of the file (a part by line range) adds to it; one that overlaps replaces it.
    const disjoint = before !== undefined && [...next.keys()].every((k) => !before.has(k));
    byFile.set(file, disjoint ? new Map([...before, ...next]) : next);
  }
}
const files = new Map([...byFile].map(([file, m]) => [file, [...m.values()]]));

const folders = new Map<string, { detected: number; total: number }>();
const add = (key: string, statuses: Status[]) => {
  const f = folders.get(key) ?? { detected: 0, total: 0 };
  for (const s of statuses) {
    if (s === 'Ignored' || s === 'CompileError' || s === 'RuntimeError') continue;
    f.total++;
    if (s === 'Killed' || s === 'Timeout') f.detected++;
  }
  folders.set(key, f);
};
for (const [file, statuses] of files) {
  add(file.split('/').slice(0, 2).join('/'), statuses);
  add('all', statuses);
}
for (const [name, f] of [...folders].sort())
  console.log(`${name.padEnd(12)} ${((100 * f.detected) / f.total).toFixed(2).padStart(6)}%  (${f.detected}/${f.total})`);
