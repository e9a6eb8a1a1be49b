/**
 * gavel serve beside OPA's own server, as deployed, on the same policy, input
 * spread and machine, each driven by a Go load generator in its own process:
 * ghz for gavel's gRPC Decide and DecideStream, bench/httpload (keep-alive
 * HTTP/1.1) for `opa run --server`. OPA evaluates the Rego of policies/ai on
 * the very inputs gavel evaluated, context included (read back from gavel's
 * ledger), and must reach the same decision and reasons; that is checked
 * before anything is measured.
 *
 * Rows, each a median of --reps interleaved repetitions (every server is
 * started afresh in each repetition, in turn): gavel (ledger file, durability
 * normal, metering on, one evaluation worker per core) at each in-flight
 * count; OPA without and with its decision log (console, to a file) at the
 * same counts; at 32 in flight, gavel with durability full, with metering off,
 * with no workers (evaluation on the I/O thread, the design before the pool),
 * and DecideStream; and the floor, gavel's Decide on grpc-js with nothing
 * behind it (bench/lib/grpc-floor.ts), at 1 and 32. Then an open-loop run at half of gavel's peak, and small
 * requests beside 800 KB ones, with workers and without. Shadow evaluation
 * (a copy of the live bundle as the shadow bundle) at 32 in flight and in the
 * open loop, beside the same rows without it.
 *
 *   npx tsx bench/service.ts                      # ~12 minutes
 *   npx tsx bench/service.ts --seconds 3 --reps 1 # a quick look
 *   npx tsx bench/service.ts --shadow-only        # shadow on and off only (~4 minutes)
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startRuntime } from '../src/runtime.js';
import type { JsonObject } from '../src/lib/json.js';
import { startChild, type ChildServer } from '../test/helpers/server.js';
import { numberFlag, readFlags, stringFlag } from './lib/args.js';
import { cpuSeconds, mainThreadCpuSeconds } from './lib/cpu.js';
import { buildHttpLoad, findTool, rssMb, runGhz, runHttpLoad, type LoadRun } from './lib/go-tools.js';
import { buildRegoBundle, findOpa, opaVersion, startOpa } from './lib/opa.js';
import { BUNDLES, ROOT, tempDir } from './lib/paths.js';
import { compiledCli } from './lib/compiled.js';
import { stopProcess, watchdog } from './lib/process.js';
import { type PartResult, report } from './lib/result.js';
import { GOAL_LABELS } from './lib/goals.js';
import { median, serviceTables, type ServiceRow } from './lib/service-table.js';
import { loadWorkload, ghzDecideData } from './lib/workload.js';

const flags = readFlags({
  seconds: { type: 'string' },
  warmup: { type: 'string' },
  reps: { type: 'string' },
  'in-flight': { type: 'string' },
  concurrency: { type: 'string' },
  out: { type: 'string' },
  'shadow-only': { type: 'boolean' },
  source: { type: 'boolean' },
});
const seconds = numberFlag(flags, 'seconds', 10, { min: 1 });
const warmup = numberFlag(flags, 'warmup', 2, { min: 0 });
const reps = numberFlag(flags, 'reps', 3, { min: 1, integer: true });
const inFlight = (stringFlag(flags, 'in-flight') ?? '1,8,32,64').split(',').map((n) => Number(n));
const out = stringFlag(flags, 'out');
/** Only what shadow evaluation costs: gavel with and without shadow bundles, closed loop at 32 and open loop. */
const shadowOnly = flags['shadow-only'] === true;
/**
 * gavel as the installed package runs it: compiled (`npm run build`, then `node dist/cli/main.js serve`).
 * --source runs the checkout's TypeScript through tsx instead, as every run before issue 30 did; tsx's
 * loader adds about 70 MB of RSS and its own thread (bench/README, "Memory").
 */
const fromSource = flags.source === true;
const GAVEL = fromSource ? undefined : compiledCli();

const dir = tempDir('gavel-bench-service-');
const running = new Set<{ kill(): void }>();
watchdog(60 * 60, 'bench/service', () => {
  for (const r of running) r.kill();
  dir.remove();
});

const notes: string[] = [];
const ghz = findTool('ghz', 'GHZ');
const opa = findOpa();
const httpload = buildHttpLoad(dir.path);
if (!ghz) throw new Error('ghz not found: go install github.com/bojand/ghz/cmd/ghz@latest (or set GHZ)');
if (!opa) notes.push('OPA rows skipped: no opa CLI found');
if (!httpload.path) notes.push(`OPA rows skipped: bench/httpload did not build (${httpload.error})`);

const workload = loadWorkload();
const DECIDE = 'gavel.v1.DecisionService/Decide';
const STREAM = 'gavel.v1.DecisionService/DecideStream';
const dataFile = join(dir.path, 'decide.json');
writeFileSync(dataFile, ghzDecideData(workload, 'bench'));
/** The same calls from one team's gateway: every one on the same team's and cost center's budgets, so each waits for the one before. */
const oneTeamFile = join(dir.path, 'decide-one-team.json');
writeFileSync(oneTeamFile, ghzDecideData(loadWorkload({ teams: 1, costCenters: 1 }), 'bench'));

/** The inputs as gavel evaluated them (context included), from its ledger, and gavel's answers to them. */
async function peerInputs(): Promise<{ bodies: JsonObject[]; answers: string[] }> {
  const core = await startRuntime({ bundles: BUNDLES, ledger: ':memory:' });
  try {
    const bodies: JsonObject[] = [];
    const answers: string[] = [];
    for (const bytes of workload.json) {
      const d = await core.decide({ policy: workload.entrypoint, input: { json: bytes }, requestId: '', caller: 'bench' });
      const stored = core.parts.ledger.get(d.decisionId)!.payload as { input: JsonObject };
      bodies.push({ input: stored.input });
      answers.push(`${d.decision} ${d.reasons.map((r) => r.code).join(',')}`);
    }
    return { bodies, answers };
  } finally {
    await core.stop();
  }
}

const peer = await peerInputs();
const bodiesFile = join(dir.path, 'opa-bodies.json');
writeFileSync(bodiesFile, JSON.stringify(peer.bodies));
const regoBundle = join(dir.path, 'ai-rego.tar.gz');
if (opa) buildRegoBundle(opa, join(ROOT, 'policies/ai'), regoBundle);
const opaReady = opa !== undefined && httpload.path !== undefined;

/** OPA must answer what gavel answered, input by input, before its numbers mean anything. */
async function checkPeerAgrees(server: { port: number }): Promise<void> {
  let differ = 0;
  for (const [i, body] of peer.bodies.entries()) {
    const res = await fetch(`http://127.0.0.1:${server.port}/v1/data/${workload.entrypoint}`, { method: 'POST', body: JSON.stringify(body) });
    const r = ((await res.json()) as { result?: { decision?: string; reasons?: Array<{ code: string }> } }).result;
    if (`${r?.decision} ${(r?.reasons ?? []).map((x) => x.code).join(',')}` !== peer.answers[i]) differ++;
  }
  if (differ > 0) throw new Error(`OPA and gavel disagree on ${differ} of ${peer.bodies.length} inputs; the comparison would be meaningless`);
  notes.push(
    `OPA and gavel agree on all ${peer.bodies.length} inputs (decision and reason codes: ${peer.answers[0]}); ${opaVersion(opa!)} ran the Rego of policies/ai`,
  );
}

interface Running {
  pid: number | undefined;
  /** gavel's gRPC address. */
  address?: string;
  metricsPort?: number;
  stop(): Promise<unknown>;
  kill(): void;
}

async function startGavel(args: string[]): Promise<Running> {
  const ledger = join(dir.path, `ledger-${Date.now()}-${Math.random().toString(36).slice(2)}.db`);
  const s: ChildServer = await startChild(['--ledger', ledger, '--bundles', BUNDLES, '--metrics-listen', '127.0.0.1:0', ...args], {}, ROOT, GAVEL);
  const line = s.lines.map((l) => JSON.parse(l) as { msg?: string; metrics_port?: number }).find((l) => l.msg === 'gavel serving');
  return {
    pid: s.child.pid,
    address: s.address,
    ...(line?.metrics_port ? { metricsPort: line.metrics_port } : {}),
    stop: () => stopProcess(s.child, s.exited),
    kill: () => s.child.kill('SIGKILL'),
  };
}

/** A bench/lib script in its own process, ready once it prints its JSON line with `msg`. */
async function startScript(file: string, msg: string): Promise<Running & { line: { port?: number; metrics_port?: number } }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib', file)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const line = await new Promise<{ port?: number; metrics_port?: number }>((resolve, reject) => {
    exited.then((code) => reject(new Error(`${file} exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      if (text.includes(msg)) resolve(JSON.parse(text) as { port?: number; metrics_port?: number });
    });
  });
  return {
    pid: child.pid,
    line,
    ...(line.metrics_port ? { metricsPort: line.metrics_port } : {}),
    stop: () => stopProcess(child, exited),
    kill: () => child.kill('SIGKILL'),
  };
}

/** bench/lib/grpc-floor.ts: gavel's Decide on grpc-js with nothing behind it. */
async function startFloor(): Promise<Running> {
  const s = await startScript('grpc-floor.ts', 'floor serving');
  return { ...s, address: `127.0.0.1:${s.line.port}` };
}

/** bench/lib/loop-probe.ts: an idle process measuring only its own event-loop delay. */
const startProbe = () => startScript('loop-probe.ts', 'probe ready');

async function startPeer(decisionLog: boolean): Promise<Running & { port: number }> {
  const server = await startOpa(opa!, regoBundle, 20_000, decisionLog ? { decisionLogFile: join(dir.path, 'opa-decisions.log') } : {});
  return { pid: server.child.pid, port: server.port, stop: () => stopProcess(server.child, server.exited), kill: () => server.child.kill('SIGKILL') };
}

/** Gauges of one gavel server: event-loop delay since the previous scrape (which this read ends), decisions by outcome, shadow counts. */
async function scrape(r: Running): Promise<{ loopMaxMs?: number; loopP99Ms?: number; decisions: Record<string, number>; shadowed?: number; dropped?: number }> {
  if (!r.metricsPort) return { decisions: {} };
  const text = await (await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`)).text();
  const gauge = (stat: string) => Number(text.match(new RegExp(`^gavel_event_loop_delay_seconds\\{stat="${stat}"\\} (\\S+)$`, 'm'))?.[1]) * 1000;
  const decisions: Record<string, number> = {};
  for (const m of text.matchAll(/^gavel_decisions_total\{decision="(\w+)"[^}]*\} (\S+)$/gm)) decisions[m[1]!] = (decisions[m[1]!] ?? 0) + Number(m[2]);
  const shadow = [...text.matchAll(/^gavel_shadow_decisions_total\{[^}]*\} (\S+)$/gm)];
  const dropped = text.match(/^gavel_shadow_dropped_total (\S+)$/m);
  return {
    loopMaxMs: gauge('max'),
    loopP99Ms: gauge('p99'),
    decisions,
    ...(dropped ? { shadowed: shadow.reduce((n, m) => n + Number(m[1]), 0), dropped: Number(dropped[1]) } : {}),
  };
}

type Load = (c: number, secs: number) => Promise<LoadRun>;

/** Warmup, then one measured window with the server's CPU, RSS, event loop and outcomes around it. */
async function measure(
  server: Running,
  load: Load,
  c: number,
  perCall = 1,
  checkOutcomes = true,
  probe?: Running,
): Promise<Omit<ServiceRow, 'server' | 'rep'>> {
  if (warmup > 0) await load(c, warmup);
  const before = await scrape(server);
  if (probe) await scrape(probe);
  const cpu0 = cpuSeconds(server.pid);
  const main0 = mainThreadCpuSeconds(server.pid);
  const run = await load(c, seconds);
  const cpu1 = cpuSeconds(server.pid);
  const main1 = mainThreadCpuSeconds(server.pid);
  const after = await scrape(server);
  const beside = probe ? await scrape(probe) : undefined;
  const decisions = run.ok * perCall;
  const allowed = (after.decisions[workload.expect] ?? 0) - (before.decisions[workload.expect] ?? 0);
  const total = Object.values(after.decisions).reduce((a, b) => a + b, 0) - Object.values(before.decisions).reduce((a, b) => a + b, 0);
  const cores = cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / run.seconds : undefined;
  const shadowNote =
    after.dropped !== undefined
      ? `shadow: ${after.shadowed! - (before.shadowed ?? 0)} evaluated, ${after.dropped - (before.dropped ?? 0)} dropped in the window`
      : undefined;
  return {
    ...(shadowNote ? { note: shadowNote } : {}),
    inFlight: c,
    throughput: decisions / run.seconds,
    p50: perCall === 1 ? run.p50 : Number.NaN,
    p90: perCall === 1 ? run.p90 : Number.NaN,
    p99: perCall === 1 ? run.p99 : Number.NaN,
    ...(cores !== undefined ? { cores, cpuPerDecisionMs: ((cpu1! - cpu0!) / decisions) * 1000 } : {}),
    ...(main0 !== undefined && main1 !== undefined ? { mainThreadCores: (main1 - main0) / run.seconds } : {}),
    ...(rssMb(server.pid) !== undefined ? { rssMb: rssMb(server.pid)! } : {}),
    ...(after.loopMaxMs !== undefined ? { loopMaxMs: after.loopMaxMs, loopP99Ms: after.loopP99Ms! } : {}),
    ...(beside?.loopMaxMs !== undefined ? { probeLoopMaxMs: beside.loopMaxMs, probeLoopP99Ms: beside.loopP99Ms! } : {}),
    errors: run.errors + run.unexpected + (checkOutcomes && server.metricsPort && total !== allowed ? total - allowed : 0),
    ...(run.firstError ? { firstError: run.firstError } : {}),
  };
}

const ghzLoad =
  (server: Running, call = DECIDE, file = dataFile, rps?: number): Load =>
  (c, secs) =>
    runGhz(ghz!, { address: server.address!, call, dataFile: file, concurrency: c, seconds: secs, ...(rps ? { rps } : {}) });

const httpLoad =
  (server: Running & { port: number }, rps?: number): Load =>
  (c, secs) =>
    runHttpLoad(httpload.path!, {
      ...(rps ? { rps } : {}),
      url: `http://127.0.0.1:${server.port}/v1/data/${workload.entrypoint}`,
      bodiesFile,
      concurrency: c,
      seconds: secs,
      warmupSeconds: 0,
      expect: `"decision":"${workload.expect}"`,
    });

interface Kind {
  server: string;
  inFlight: number[];
  run(c: number[]): Promise<Array<Omit<ServiceRow, 'server' | 'rep'>>>;
}

async function withServer<T extends Running>(start: () => Promise<T>, body: (s: T) => Promise<Array<Omit<ServiceRow, 'server' | 'rep'>>>) {
  const s = await start();
  running.add(s);
  try {
    return await body(s);
  } finally {
    await s.stop();
    running.delete(s);
  }
}

const each = async (cs: number[], f: (c: number) => Promise<Omit<ServiceRow, 'server' | 'rep'>>) => {
  const rows = [];
  for (const c of cs) rows.push(await f(c));
  return rows;
};

const gavelKind = (server: string, args: string[], cs: number[], call = DECIDE, perCall = 1, file = dataFile): Kind => ({
  server,
  inFlight: cs,
  run: (c) =>
    withServer(
      () => startGavel(args),
      (s) => each(c, (n) => measure(s, ghzLoad(s, call, file), n, perCall)),
    ),
});
const floorKind: Kind = {
  server: GOAL_LABELS.floor,
  inFlight: [1, 32],
  run: (c) => withServer(startFloor, (s) => each(c, (n) => measure(s, ghzLoad(s), n))),
};
const opaKind = (server: string, decisionLog: boolean): Kind => ({
  server,
  inFlight: inFlight,
  run: (c) =>
    withServer(
      () => startPeer(decisionLog),
      async (s) => {
        if (!peerChecked) {
          await checkPeerAgrees(s);
          peerChecked = true;
        }
        return each(c, (n) => measure(s, httpLoad(s), n));
      },
    ),
});
let peerChecked = false;

const STREAM_MESSAGES = workload.json.length;
// The shadow bundle: a copy of the live one, so shadow evaluation costs exactly what live evaluation does.
const shadowDir = join(dir.path, 'shadow');
mkdirSync(shadowDir);
copyFileSync(join(BUNDLES, 'ai.tar.gz'), join(shadowDir, 'ai-candidate.tar.gz'));
const SHADOW = 'gavel serve --shadow-bundles (a copy of the live bundle)';
const shadowKind = gavelKind(SHADOW, ['--shadow-bundles', shadowDir], [32]);
/** The ledger written by its own thread (issue 30), beside the default (on the I/O thread) in the same run. */
/** gavel serve as it starts by default. */
const DEFAULT = GOAL_LABELS.gavel;
const THREAD = GOAL_LABELS.thread;
/** The peer every row is compared with. */
const OPA = GOAL_LABELS.opa;
const kinds: Kind[] = shadowOnly
  ? [gavelKind(DEFAULT, [], [32]), shadowKind]
  : [
      gavelKind(DEFAULT, [], inFlight),
      gavelKind(THREAD, ['--ledger-thread'], [1, 32]),
      ...(opaReady ? [opaKind(OPA, false), opaKind('opa run --server, decision log to a file', true)] : []),
      floorKind,
      gavelKind('gavel serve --durability full', ['--durability', 'full'], [32]),
      gavelKind('gavel serve --no-metering', ['--no-metering'], [32]),
      gavelKind('gavel serve --workers 0 (evaluation on the I/O thread)', ['--workers', '0'], [32]),
      gavelKind("gavel serve, one team's gateway (every call on one team's and one cost center's budgets)", [], [32], DECIDE, 1, oneTeamFile),
      gavelKind(`${GOAL_LABELS.stream} (in flight = streams, ${STREAM_MESSAGES} requests each)`, [], [1, 2], STREAM, STREAM_MESSAGES),
      shadowKind,
    ];

const rows: ServiceRow[] = [];
for (let rep = 1; rep <= reps; rep++) {
  for (const kind of kinds) {
    process.stdout.write(`  rep ${rep}/${reps}: ${kind.server} at ${kind.inFlight.join(', ')} in flight\n`);
    for (const row of await kind.run(kind.inFlight)) rows.push({ server: kind.server, rep, ...row });
  }
}

// Open loop at half of gavel's own peak (median of the closed-loop rows): the latency a gateway sees at moderate load.
const measuredAt = shadowOnly ? [32] : inFlight;
const peak = Math.max(...measuredAt.map((c) => median(rows.filter((r) => r.server === DEFAULT && r.inFlight === c).map((r) => r.throughput))));
const rate = Math.round(peak / 2);
const fixed: ServiceRow[] = [];
for (let rep = 1; rep <= reps; rep++) {
  // With and without shadow bundles at the same rate, interleaved: the live p99 shadow evaluation costs. The floor
  // at the same rate is the latency and the stalls of a server doing no work; the idle probe beside each, the machine's.
  for (const [label, start] of [
    [DEFAULT, () => startGavel([])],
    ...(shadowOnly ? [] : ([[THREAD, () => startGavel(['--ledger-thread'])]] as const)),
    [SHADOW, () => startGavel(['--shadow-bundles', shadowDir])],
    [floorKind.server, startFloor],
  ] as const) {
    const probe = await startProbe();
    running.add(probe);
    try {
      const [row] = await withServer(start, async (s) => [await measure(s, ghzLoad(s, DECIDE, dataFile, rate), 64, 1, label !== floorKind.server, probe)]);
      fixed.push({ server: `${label}, open loop at ${rate}/s (half gavel's peak of ${Math.round(peak)}/s)`, rep, ...row!, inFlight: Number.NaN });
    } finally {
      await probe.stop();
      running.delete(probe);
    }
  }
}

// Open loop at half of OPA's own peak (median of its closed-loop rows, no decision log): gavel, OPA and the floor at
// the same rate, interleaved; what a gateway sees from each at a load both sustain.
const opaPeak =
  opaReady && !shadowOnly
    ? Math.max(...inFlight.map((c) => median(rows.filter((r) => r.server === OPA && r.inFlight === c).map((r) => r.throughput))))
    : Number.NaN;
const opaRate = Math.round(opaPeak / 2);
if (Number.isFinite(opaRate) && opaRate > 0) {
  for (let rep = 1; rep <= reps; rep++) {
    for (const [label, start, load] of [
      [DEFAULT, () => startGavel([]), (s: Running) => ghzLoad(s, DECIDE, dataFile, opaRate)],
      [THREAD, () => startGavel(['--ledger-thread']), (s: Running) => ghzLoad(s, DECIDE, dataFile, opaRate)],
      [OPA, () => startPeer(false), (s: Running) => httpLoad(s as Running & { port: number }, opaRate)],
      [floorKind.server, startFloor, (s: Running) => ghzLoad(s, DECIDE, dataFile, opaRate)],
    ] as const) {
      const probe = await startProbe();
      running.add(probe);
      try {
        const [row] = await withServer(start, async (s) => [await measure(s, load(s), 64, 1, label !== floorKind.server && label !== OPA, probe)]);
        fixed.push({ server: `${label}, open loop at ${opaRate}/s (half OPA's peak of ${Math.round(opaPeak)}/s)`, rep, ...row!, inFlight: Number.NaN });
      } finally {
        await probe.stop();
        running.delete(probe);
      }
    }
  }
}

// Small requests at a fixed rate, alone and beside 800 KB ones (one always in flight), with workers and without.
const large = structuredClone(workload.inputs[0]!) as JsonObject & { content: { prompt: string } };
large.content = { prompt: 'The quarterly review covers revenue, hiring and the roadmap for the next two releases. '.repeat(9400) };
const largeFile = join(dir.path, 'large.json');
writeFileSync(
  largeFile,
  JSON.stringify([{ policy: workload.entrypoint, request_id: 'large-{{.UUID}}', input_json: Buffer.from(JSON.stringify(large)).toString('base64') }]),
);
const SMALL_RATE = 100;
const beside: ServiceRow[] = [];
for (const [label, args] of shadowOnly
  ? []
  : ([
      ['workers: one per core', []],
      ['--workers 0', ['--workers', '0']],
    ] as const)) {
  for (const withLarge of [false, true]) {
    const [row] = await withServer(
      () => startGavel([...args]),
      async (s) => {
        const big = withLarge ? runGhz(ghz!, { address: s.address!, call: DECIDE, dataFile: largeFile, concurrency: 1, seconds: seconds + warmup }) : undefined;
        // The large inputs' own outcomes are not the small ones' ALLOW: only the small calls' errors count here.
        const m = await measure(s, ghzLoad(s, DECIDE, dataFile, SMALL_RATE), 16, 1, !withLarge);
        const b = big ? await big : undefined;
        return [
          {
            ...m,
            ...(b
              ? {
                  note: `${b.ok} large decisions (${(Buffer.byteLength(JSON.stringify(large)) / 1024).toFixed(0)} KB each) alongside, ${b.p50.toFixed(0)} ms each at p50`,
                }
              : {}),
          },
        ];
      },
    );
    beside.push({ server: `${label}: small at ${SMALL_RATE}/s${withLarge ? ', one 800 KB input always in flight' : ', alone'}`, rep: 1, ...row! });
  }
}

const result: PartResult = {
  part: 'service',
  measurements: [],
  notes,
  markdown: serviceTables({ rows, fixed, beside, reps, seconds, warmup, reference: OPA }),
};
process.stdout.write(`${result.markdown!.join('\n')}\n`);
report(result, out);
dir.remove();
process.exit(0);
