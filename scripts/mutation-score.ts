/**
 * Mutation score per folder and overall from one or more Stryker JSON reports
 * (mutation-testing-report-schema), later reports winning for a file that
 * appears twice — so a run per folder adds up to the score of the three.
 *
 *   npx tsx scripts/mutation-score.ts reports/mutation/ledger.json reports/mutation/engine-usage.json
 *
 * Score = (killed + timeout) / (all mutants - ignored): no-coverage and
 * survived count against it, as in Stryker's own "total" column.
 */
import { readFileSync } from 'node:fs';

type Status = 'Killed' | 'Timeout' | 'Survived' | 'NoCoverage' | 'Ignored' | 'RuntimeError' | 'CompileError' | 'Pending';
interface Report {
  files: Record<string, { mutants: Array<{ status: Status }> }>;
}

const files = new Map<string, Status[]>();
for (const path of process.argv.slice(2)) {
  const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
  for (const [file, { mutants }] of Object.entries(report.files))
    files.set(
      file,
      mutants.map((m) => m.status),
    );
}

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
