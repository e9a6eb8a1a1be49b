/**
 * Where a served decision's CPU goes, by stage: `gavel serve` runs under
 * `node --cpu-prof` (every thread writes its own profile), ghz drives it for a
 * window, and every sample of every thread is put in the stage its frame
 * belongs to (self time, by source file). Not part of `npm run bench`; used for
 * the "before and after" in bench/README.md, also against another checkout:
 *
 *   npx tsx bench/profile.ts --in-flight 32 --seconds 10 --args='--workers 1'   (--source: through tsx, not dist/)
 *   npx tsx bench/profile.ts --top 40 --main-only   (the functions with the most self time on the main thread)
 *   npx tsx bench/profile.ts --keep-profiles /tmp/prof   (each thread's .cpuprofile kept, for its call tree)
 *   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/
 *   npx tsx bench/profile.ts --root /tmp/before --in-flight 32
 */
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFlags, stringFlag } from './lib/args.js';
import { compiledCli } from './lib/compiled.js';
import { SERVE_UNDER_FLAGS, serveUnder, serveUnderFlags } from './lib/serve-under.js';

const flags = readFlags({ ...SERVE_UNDER_FLAGS, source: { type: 'boolean' }, 'main-only': { type: 'boolean' }, 'keep-profiles': { type: 'string' } });
/** --top N also lists the N functions with the most self time (all threads), with their stage. */
const { ghz, root, inFlight, seconds, extra, top, rps } = serveUnderFlags(flags, 10);
/** Copy every thread's .cpuprofile here before the temporary folder goes (for a call tree: Chrome DevTools, or a script). */
const keep = stringFlag(flags, 'keep-profiles');
/** The function list (--top) counts the main thread alone. */
const mainOnly = flags['main-only'] === true;
// The compiled server, as installed (--source: the checkout's TypeScript through tsx, whose loader then shows in the profile).
const cli = flags.source === true ? join(root, 'bin/gavel.mjs') : compiledCli(root);

/** Stages, tried in order against a frame's URL and function name; the first that matches takes the sample. */
const STAGES: Array<[string, RegExp]> = [
  ['idle', /^\(idle\)$/],
  ['garbage collection', /^\(garbage collector\)$/],
  ['policy evaluation (opa-wasm)', /wasm:\/\/|opa-wasm/],
  ['input parse and bounds', /engine\/(input|input-scan|identity|usage-facts)\.[jt]s/],
  ['usage metering', /(src|dist)\/usage\/|engine\/key-locks\.[jt]s/],
  ['ledger: canonical JSON, hashing', /canonicalize|safe-stable-stringify|lib\/canonical\.[jt]s|ledger\/hash\.[jt]s|crypto\/hash|crypto\/random/],
  ['ledger: SQLite insert and commit', /(src|dist)\/ledger\/|better-sqlite3/],
  ['result, redaction, record', /engine\/(result|redact|record|stages|engine|evaluator|policies|approvals\/.*)\.[jt]s|lib\/(pointer|json|attribution)\.[jt]s/],
  ['worker messaging', /engine\/pool\/|engine\/(runner|adaptive-runner)\.[jt]s|internal\/worker|^postMessage$|messageport|event_target/],
  ['gRPC, HTTP/2, protobuf', /grpc-js|protobufjs|http2|internal\/streams|transport\/|stream_base|net\.js|node:net/],
  ['start-up (module loading)', /internal\/modules|esm\/|tsx|esbuild/],
];

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

function stageOf(n: ProfileNode): string {
  const { url, functionName } = n.callFrame;
  for (const [stage, re] of STAGES) if (re.test(url) || re.test(functionName)) return stage;
  return 'other (Node internals, program)';
}

const served = await serveUnder(ghz, {
  root,
  cli,
  nodeArgs: (dir) => ['--cpu-prof', '--cpu-prof-dir', join(dir, 'prof')],
  extra,
  name: 'bench/profile',
  seconds,
});
const { dir } = served;
const warm = await served.drive(inFlight, 2, rps);
const run = await served.drive(inFlight, seconds, rps);
await served.stop();

const totals = new Map<string, number>();
/** The main thread alone (Node names its profile CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; the main thread is 0). */
const mainTotals = new Map<string, number>();
const byFunction = new Map<string, number>();
let threads = 0;
for (const file of readdirSync(join(dir.path, 'prof'))) {
  const p = JSON.parse(readFileSync(join(dir.path, 'prof', file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const stage = new Map(p.nodes.map((n) => [n.id, stageOf(n)]));
  const isMain = file.split('.')[4] === '0';
  const frames = new Map(
    p.nodes.map((n) => [
      n.id,
      `${stageOf(n)} · ${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/src\//, 'src/')}`,
    ]),
  );
  for (const [i, id] of p.samples.entries()) {
    const s = stage.get(id)!;
    totals.set(s, (totals.get(s) ?? 0) + (p.timeDeltas[i] ?? 0));
    if (isMain) mainTotals.set(s, (mainTotals.get(s) ?? 0) + (p.timeDeltas[i] ?? 0));
    if (top > 0 && s !== 'idle' && (isMain || !mainOnly)) {
      const f = frames.get(id)!;
      byFunction.set(f, (byFunction.get(f) ?? 0) + (p.timeDeltas[i] ?? 0));
    }
  }
  threads++;
}
if (keep) cpSync(join(dir.path, 'prof'), keep, { recursive: true });
dir.remove();
// Warmup is in the profile too (start-up's module loading is left out by stage): decisions of both runs count.
const decisions = run.ok + warm.ok;
const busy = [...totals].filter(([s]) => s !== 'idle' && !s.startsWith('start-up'));
const busyUs = busy.reduce((n, [, us]) => n + us, 0);
process.stdout.write(
  `${root} (${threads} threads profiled), ${rps ? `open loop at ${rps}/s, up to ` : ''}${inFlight} in flight: ${Math.round(run.rps)} decisions/s under the profiler, ~${decisions} decisions\n\n`,
);
const mainUs = (s: string) => Math.round((mainTotals.get(s) ?? 0) / decisions);
const mainBusy = busy.reduce((n, [s]) => n + (mainTotals.get(s) ?? 0), 0);
process.stdout.write('| Stage | share of busy CPU | CPU µs per decision | of it on the main thread |\n|---|--:|--:|--:|\n');
for (const [s, us] of busy.sort((a, b) => b[1] - a[1]))
  process.stdout.write(`| ${s} | ${((100 * us) / busyUs).toFixed(1)}% | ${Math.round(us / decisions)} | ${mainUs(s)} |\n`);
process.stdout.write(`| **all busy threads** | 100% | **${Math.round(busyUs / decisions)}** | **${Math.round(mainBusy / decisions)}** |\n`);
if (top > 0) {
  process.stdout.write('\n| Function (self time) | CPU µs per decision |\n|---|--:|\n');
  for (const [f, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
    if (!f.startsWith('start-up')) process.stdout.write(`| ${f} | ${(us / decisions).toFixed(0)} |\n`);
}
process.exit(0);
