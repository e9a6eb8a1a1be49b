/**
 * Peer: OPA's own server beside gavel, on the same machine and input, with
 * the same concurrency and duration: POST /v1/data/gavel/ai/decision over
 * keep-alive HTTP. Skips with a note when no opa CLI is found.
 *
 * gavel's bundle is wasm-only for evaluation purposes (its manifest names
 * policy.wasm for the entrypoint), and an OPA built without a wasm runtime
 * refuses to activate it. So the wasm bundle is tried first; if OPA cannot
 * run it, a Rego bundle is built from policies/ai (tests and samples left
 * out) and OPA evaluates that with its Go interpreter.
 *
 *   npx tsx bench/opa.ts --concurrency 32 --seconds 10
 */
import { join } from 'node:path';
import { isJsonObject } from '../src/lib/json.js';
import { COMMON_FLAGS, commonOptions, readFlags } from './lib/args.js';
import { CpuWindow } from './lib/cpu.js';
import { jsonPoster } from './lib/http-client.js';
import { closedLoop } from './lib/load.js';
import { buildRegoBundle, findOpa, opaVersion, startOpa, type OpaServer } from './lib/opa.js';
import { AI_BUNDLE, ROOT, tempDir } from './lib/paths.js';
import { stopProcess, watchdog } from './lib/process.js';
import { cpuFields, fromLoad, report, type PartResult } from './lib/result.js';
import { loadWorkload } from './lib/workload.js';

const options = commonOptions(readFlags(COMMON_FLAGS), { seconds: 10, warmup: 2 });
const dir = tempDir('gavel-bench-opa-');
/** Whatever OPA process is running, so the watchdog can kill it. */
let running: OpaServer | undefined;
watchdog(options.warmupSeconds + options.seconds + 120, 'bench/opa', () => {
  running?.child.kill('SIGKILL');
  dir.remove();
});

async function run(): Promise<PartResult> {
  const opa = findOpa();
  if (!opa) return { part: 'opa', measurements: [], notes: ['OPA peer skipped: no opa CLI found (set OPA=/path/to/opa, or put opa on PATH or in ~/go/bin).'] };
  const version = opaVersion(opa);
  const notes: string[] = [];
  let server: OpaServer;
  let how: string;
  try {
    server = running = await startOpa(opa, AI_BUNDLE);
    how = 'bundles/ai.tar.gz as is (OPA evaluates its policy.wasm)';
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    notes.push(`${version} could not serve bundles/ai.tar.gz (${reason}); it ran a Rego bundle built from policies/ai instead.`);
    const regoBundle = join(dir.path, 'ai-rego.tar.gz');
    buildRegoBundle(opa, join(ROOT, 'policies/ai'), regoBundle);
    server = running = await startOpa(opa, regoBundle);
    how = 'Rego bundle of policies/ai (Go interpreter)';
  }
  const workload = loadWorkload();
  const bodies = workload.inputs.map((input) => Buffer.from(JSON.stringify({ input })));
  const http = jsonPoster(server.port, `/v1/data/${workload.entrypoint}`, options.concurrency);
  try {
    const cpu = new CpuWindow([server.child.pid, undefined]);
    const result = await closedLoop(
      async (i) => {
        const body = await http.post(bodies[i % bodies.length]!);
        return isJsonObject(body) && isJsonObject(body.result) && body.result.decision === workload.expect;
      },
      { ...options, onWindow: (edge) => (edge === 'start' ? cpu.start() : undefined) },
    );
    const [serverCores, clientCores] = cpu.stop();
    return {
      part: 'opa',
      measurements: [
        fromLoad('path', `peer: opa run --server, POST /v1/data/${workload.entrypoint} (${how}), no decision log`, 'decisions/s', result, {
          concurrency: options.concurrency,
          ...cpuFields(['opa', serverCores], ['client', clientCores]),
        }),
      ],
      notes: [...notes, `peer version: ${version}`],
    };
  } finally {
    http.close();
    await stopProcess(server.child, server.exited);
  }
}

try {
  report(await run(), options.out);
} finally {
  dir.remove();
}
process.exit(0);
