import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, SERVICE_REASON_CODES } from '../src/lib/errors.js';
import { ROOT } from './helpers/paths.js';

/** The README's code tables and src/errors.ts must list the same codes (and the same gRPC status). */
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

function tableAfter(heading: string): string[][] {
  const start = readme.indexOf(heading);
  expect(start, `README has "${heading}"`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of readme.slice(start).split('\n').slice(1)) {
    if (rows.length > 0 && !line.startsWith('|')) break;
    if (!line.startsWith('|') || line.includes('---')) continue;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim().replace(/`/g, '')),
    );
  }
  return rows.slice(1); // drop the header row
}

describe('README code tables', () => {
  it('lists every error code with its gRPC status, and nothing else', () => {
    const rows = tableAfter('### Error codes');
    expect(rows.map((r) => r[0]).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, status] of rows) expect(status).toBe(ERROR_CODES[code as keyof typeof ERROR_CODES].status);
  });

  it('lists every service reason code', () => {
    const rows = tableAfter('### Service reason codes');
    expect(rows.map((r) => r[0]).sort()).toEqual(Object.keys(SERVICE_REASON_CODES).sort());
  });
});
