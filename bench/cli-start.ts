/**
 * CLI start-up: the compiled CLI (dist/, what the installed package runs) against the same CLI
 * run from TypeScript through tsx (a checkout's bin), interleaved run by run so the machine's
 * drift touches both alike. Wall time and CPU (user + system, the child's, from /proc) per run.
 *
 *   npm run build && npx tsx bench/cli-start.ts --runs 15
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { numberFlag, readFlags } from './lib/args.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { ROOT, tempDir } from './lib/paths.js';

const flags = readFlags({ runs: { type: 'string' } });
const runs = numberFlag(flags, 'runs', 15, { min: 1, integer: true });
if (!existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('no dist/: run npm run build first');

/** This process's children's CPU time so far, in ms (clock ticks of 10 ms). */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // After ") ": state is field 3; cutime and cstime are fields 16 and 17 of the whole line.
  return (Number(fields[16 - 3]) + Number(fields[17 - 3])) * 10;
}

function timed(args: string[]): { wallMs: number; cpuMs: number } {
  const cpu = childrenCpuMs();
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wallMs: performance.now() - t, cpuMs: childrenCpuMs() - cpu };
}

// A small ledger for `audit verify`: a few decisions through `gavel eval --ledger`.
const dir = tempDir('gavel-cli-start-');
const ledger = join(dir.path, 'ledger.db');
const input = JSON.stringify({
  subject: { id: 'alice', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
  action: { type: 'model.invoke', model: 'standard-m' },
});
for (let i = 0; i < 20; i++)
  spawnSync(process.execPath, ['dist/cli/main.js', 'eval', '--bundles', 'bundles', '--ledger', ledger, '--input', '-'], { cwd: ROOT, input });

const commands: Array<[string, string[]]> = [
  ['--version', ['--version']],
  ['audit verify (20 entries)', ['audit', 'verify', '--ledger', ledger]],
];
const forms: Array<[string, string]> = [
  ['compiled (dist/cli/main.js)', 'dist/cli/main.js'],
  ['tsx (bin/gavel.mjs in a checkout)', 'bin/gavel.mjs'],
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(machineLine(describeMachine()));
console.log(`runs: ${runs} of each, interleaved\n`);
console.log('| command | form | wall ms (median) | CPU ms (median) |');
console.log('|---|---|---:|---:|');
for (const [name, args] of commands) {
  const results = forms.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (let r = 0; r < runs; r++) {
    forms.forEach(([, entry], i) => {
      const m = timed([entry, ...args]);
      results[i]!.wall.push(m.wallMs);
      results[i]!.cpu.push(m.cpuMs);
    });
  }
  for (const [i, [form]] of forms.entries()) {
    console.log(`| \`gavel ${name}\` | ${form} | ${median(results[i]!.wall).toFixed(0)} | ${median(results[i]!.cpu).toFixed(0)} |`);
  }
}
process.on('exit', () => dir.remove());
