// Fails unless the Rego coverage of every policy (test files excluded) reaches the threshold.
// Usage: tsx scripts/check-coverage.ts <opa test --coverage --format=json output> <min percent>
import { readFileSync } from 'node:fs';

interface FileCoverage {
  covered_lines?: number;
  not_covered_lines?: number;
  coverage?: number;
}

const [reportPath, minText] = process.argv.slice(2);
if (!reportPath) {
  process.stderr.write('usage: check-coverage <report.json> [min percent]\n');
  process.exit(2);
}
const min = Number(minText ?? '90');
const report = JSON.parse(readFileSync(reportPath, 'utf8')) as { files?: Record<string, FileCoverage> };
let covered = 0;
let missed = 0;
for (const [file, cov] of Object.entries(report.files ?? {})) {
  if (file.endsWith('_test.rego') || file.includes('/test/')) continue;
  covered += cov.covered_lines ?? 0;
  missed += cov.not_covered_lines ?? 0;
  process.stdout.write(`${file}: ${(cov.coverage ?? 0).toFixed(1)}%\n`);
}
const percent = covered + missed === 0 ? 0 : (100 * covered) / (covered + missed);
process.stdout.write(`policy coverage: ${percent.toFixed(1)}% (minimum ${min}%)\n`);
process.exit(percent >= min ? 0 : 1);
