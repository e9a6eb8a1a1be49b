/**
 * Where a served decision's CPU goes, from the kernel's point of view: `gavel serve` (compiled)
 * under ghz, sampled by Linux `perf record` on its CPU clock, so a sample is taken only while a
 * thread runs on a core. bench/profile.ts uses V8's profiler instead, which samples wall time: a
 * thread preempted inside a frame (postMessage waking a worker on a 2-core machine) is charged
 * there. perf charges nothing while a thread waits, and sees native work V8 does not name (SQLite,
 * the WAL's writes in the kernel, HTTP/2 in C++, garbage collection).
 *
 * Each sample goes to a stage by its call chain: garbage collection if any frame is V8's collector;
 * else the first JavaScript frame, from the leaf up, that belongs to a stage (by its file); else its
 * native frames (SQLite, HTTP/2, a MessagePort). Node runs with --perf-basic-prof so JIT frames
 * have names (an interpreted function's frame is the interpreter's: its caller decides).
 *
 *   npx tsx bench/perf-stages.ts --in-flight 32 --seconds 8 [--args='--ledger-thread'] [--root <checkout>]
 *   npx tsx bench/perf-stages.ts --top 25 [--top-of others]   (the frames that cost most, on the main thread or the others)
 *   npx tsx bench/perf-stages.ts --rps 420 --in-flight 64       (open loop: ghz sends 420 calls a second, up to 64 at once)
 *
 * Needs `perf` (linux-perf) and permission to sample the process. Not part of `npm run bench`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readFlags, stringFlag } from './lib/args.js';
import { compiledCli } from './lib/compiled.js';
import { SERVE_UNDER_FLAGS, serveUnder, serveUnderFlags } from './lib/serve-under.js';

const flags = readFlags({ ...SERVE_UNDER_FLAGS, 'top-of': { type: 'string' } });
// --top N lists the N frames that took the most samples for their stage (the frame that decided it)...
const { ghz, root, inFlight, seconds, extra, top, rps } = serveUnderFlags(flags, 8);
/** ...of the main thread (default), or of the other threads (the evaluation workers, the writer, V8's own). */
const topOf = stringFlag(flags, 'top-of') ?? 'main';
if (topOf !== 'main' && topOf !== 'others') throw new Error(`--top-of must be main or others, got ${topOf}`);
if (spawnSync('perf', ['--version']).status !== 0) throw new Error('perf not found (apt-get install linux-perf)');

/** A frame as `perf script` prints it: its symbol and the object it is in. */
interface Frame {
  sym: string;
  dso: string;
}

const GC = /v8::internal::(Heap::|Scavenger|MarkCompact|MinorMarkSweep|MinorMarkCompact|Sweeper|ConcurrentMarking|GCTracer|IncrementalMarking)|ScavengeObject/;

/** JavaScript frames by file, tried in order; a frame that matches none (Node's timers, events) is skipped. */
const JS_STAGES: Array<[string, RegExp]> = [
  ['usage metering', /\/(src|dist)\/usage\/|engine\/key-locks\.[jt]s/],
  ['ledger: SQLite, the WAL', /\/(src|dist)\/ledger\/(sqlite|row-writes|merkle-store|write-protect|file-identity|query|wal-[a-z]+)\.[jt]s/],
  ['ledger: header, hashes, payload (JavaScript)', /\/(src|dist)\/ledger\/|lib\/canonical\.[jt]s|node:zlib|node:internal\/crypto/],
  ['worker messaging', /engine\/pool\/|lib\/outbox\.[jt]s|node:internal\/worker|messageport|event_target/],
  ['gRPC, HTTP/2, protobuf', /grpc-js|protobufjs|\/(src|dist)\/transport\/|node:internal\/http2|node:internal\/streams|node:net|stream_base/],
  ['policy evaluation (opa-wasm)', /wasm|engine\/evaluator\.[jt]s/],
  ['input parse and bounds', /engine\/(input|input-scan|scan-text|scan-view|identity|usage-facts|header-facts)\.[jt]s/],
  ['engine: locks, approvals, results, idempotency', /\/(src|dist)\/(engine|lib|runtime)\//],
];

/** Native frames, for a chain whose JavaScript frames named no stage (or that has none). */
const NATIVE_STAGES: Array<[string, RegExp]> = [
  ['ledger: SQLite, the WAL', /better_sqlite3/],
  ['gRPC, HTTP/2, protobuf', /http2|nghttp2|LibuvStreamWrap|uv__read|uv__write|tcp/i],
  ['worker messaging', /MessagePort|worker::/],
];

/** The sample's stage, and the frame that decided it (the leaf when none did). */
function stageOf(chain: Frame[]): [string, Frame | undefined] {
  const gc = chain.find((f) => GC.test(f.sym));
  if (gc) return ['garbage collection', gc];
  for (const f of chain) {
    if (!f.sym.startsWith('JS:')) continue;
    for (const [stage, re] of JS_STAGES) if (re.test(f.sym)) return [stage, f];
  }
  for (const f of chain) for (const [stage, re] of NATIVE_STAGES) if (re.test(f.sym) || re.test(f.dso)) return [stage, f];
  return ['other (V8, Node, the kernel)', chain[0]];
}

// --perf-prof writes jit-<pid>.dump in the working directory, which `perf inject --jit` reads.
const served = await serveUnder(ghz, {
  root,
  cli: compiledCli(root),
  nodeArgs: () => ['--perf-prof', '--perf-prof-unwinding-info'],
  extra,
  cwdInDir: true,
  name: 'bench/perf-stages',
  seconds,
});
const { dir, child } = served;
await served.drive(inFlight, 2, rps);
const data = join(dir.path, 'perf.data');
const perf = spawn('perf', ['record', '-k', 'mono', '-e', 'cpu-clock', '-F', '1999', '-g', '-p', String(child.pid), '-o', data], { stdio: 'ignore' });
const perfExited = new Promise((resolve) => perf.on('exit', resolve));
const run = await served.drive(inFlight, seconds, rps);
perf.kill('SIGINT');
await perfExited;
await served.stop();
// Each JIT-compiled function as an object of its own, named where it was when sampled (code that moves keeps its name).
const jitted = join(dir.path, 'perf.jit.data');
const inject = spawnSync('perf', ['inject', '--jit', '-i', data, '-o', jitted], { encoding: 'utf8', cwd: dir.path });
if (inject.status !== 0) throw new Error(`perf inject failed: ${inject.stderr}`);
const script = spawnSync('perf', ['script', '-i', jitted, '-F', 'tid,period,ip,sym,dso'], { maxBuffer: 1 << 30, encoding: 'utf8', cwd: dir.path });
dir.remove();

/** ns of CPU per stage: the main thread's, and every thread's. */
const main = new Map<string, number>();
const all = new Map<string, number>();
const add = (m: Map<string, number>, stage: string, ns: number) => m.set(stage, (m.get(stage) ?? 0) + ns);
let tid = 0;
let period = 0;
let chain: Frame[] = [];
const byFrame = new Map<string, number>();
const flush = () => {
  if (period === 0) return;
  const [stage, frame] = stageOf(chain);
  add(all, stage, period);
  if (tid === child.pid) add(main, stage, period);
  if (top > 0 && (tid === child.pid) === (topOf === 'main')) {
    add(byFrame, `${stage} · ${frame ? frame.sym.replace(/file:\/\/\S*\/(dist|src)\//, '').replace(/\S*node_modules\//, '') : '?'}`, period);
  }
  period = 0;
  chain = [];
};
for (const line of script.stdout.split('\n')) {
  const head = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
  if (head) {
    flush();
    tid = Number(head[1]);
    period = Number(head[2]);
    continue;
  }
  const frame = /^\s+[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/.exec(line);
  if (frame) chain.push({ sym: frame[1]!, dso: frame[2]! });
}
flush();

const decisions = run.ok;
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const usPer = (ns: number) => (ns / 1000 / decisions).toFixed(0);
const mainNs = total(main);
process.stdout.write(
  `${root}${extra.length > 0 ? ` ${extra.join(' ')}` : ''}: ${rps ? `open loop at ${rps}/s, up to ` : ''}${inFlight} in flight, ${Math.round(run.rps)} decisions/s under perf, ${decisions} decisions sampled (${new Date().toISOString()})\n\n`,
);
process.stdout.write('| stage | main thread µs/decision | of the main thread | all threads µs/decision |\n|---|--:|--:|--:|\n');
for (const [stage, ns] of [...all].sort((a, b) => (main.get(b[0]) ?? 0) - (main.get(a[0]) ?? 0) || b[1] - a[1])) {
  const m = main.get(stage) ?? 0;
  process.stdout.write(`| ${stage} | ${usPer(m)} | ${((100 * m) / mainNs).toFixed(1)}% | ${usPer(ns)} |\n`);
}
process.stdout.write(`| **all stages** | **${usPer(mainNs)}** | 100% | **${usPer(total(all))}** |\n`);
if (top > 0) {
  process.stdout.write(`\n| ${topOf === 'main' ? 'main thread' : 'other threads'}: stage · frame that decided it | µs/decision |\n|---|--:|\n`);
  for (const [frame, ns] of [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`| ${frame} | ${usPer(ns)} |\n`);
}
