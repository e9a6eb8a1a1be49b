/**
 * The full service: `gavel serve` started as its own process (real ledger
 * file, usage metering on, as deployed), driven over loopback gRPC with
 * --concurrency Decide calls in flight for --seconds after --warmup.
 *
 * --stream adds a second row: the same load through DecideStream, all
 * --concurrency decisions in flight on one bidirectional stream (as a gateway
 * would hold one), against a fresh server of its own, so the two rows differ
 * only in the RPC shape.
 *
 *   npx tsx bench/decide.ts --concurrency 64 --seconds 20
 *   npx tsx bench/decide.ts --durability full
 *   npx tsx bench/decide.ts --stream
 */
import { join } from 'node:path';
import { startChild } from '../test/helpers/server.js';
import { boolFlag, COMMON_FLAGS, commonOptions, readFlags, stringFlag } from './lib/args.js';
import { CpuWindow } from './lib/cpu.js';
import { decideClient, decideStreamClient } from './lib/grpc-decide.js';
import { closedLoop } from './lib/load.js';
import { BUNDLES, tempDir } from './lib/paths.js';
import { stopProcess, watchdog } from './lib/process.js';
import { cpuFields, fromLoad, report, type Measurement } from './lib/result.js';
import { loadWorkload } from './lib/workload.js';

const flags = readFlags({ ...COMMON_FLAGS, durability: { type: 'string' }, stream: { type: 'boolean' } });
const options = commonOptions(flags, { seconds: 10, warmup: 2 });
const durability = stringFlag(flags, 'durability') ?? 'normal';
if (durability !== 'normal' && durability !== 'full') throw new Error('--durability must be normal or full');
const modes: Array<'unary' | 'stream'> = boolFlag(flags, 'stream') ? ['unary', 'stream'] : ['unary'];

const workload = loadWorkload();
const cleanups = new Set<() => void>();
watchdog(modes.length * (options.warmupSeconds + options.seconds + 90), 'bench/decide', () => {
  for (const cleanup of cleanups) cleanup();
});

const measurements: Measurement[] = [];
const notes: string[] = [];
for (const mode of modes) {
  const { measurement, note } = await measure(mode);
  measurements.push(measurement);
  notes.push(note);
}
report({ part: 'decide', measurements, notes }, options.out);
process.exit(0);

/** One row: a fresh server (empty ledger and usage), loaded through Decide or DecideStream. */
async function measure(mode: 'unary' | 'stream'): Promise<{ measurement: Measurement; note: string }> {
  const dir = tempDir('gavel-bench-grpc-');
  const server = await startChild(['--ledger', join(dir.path, 'ledger.db'), '--bundles', BUNDLES, '--durability', durability]);
  const cleanup = () => {
    server.child.kill('SIGKILL');
    dir.remove();
  };
  cleanups.add(cleanup);
  const client = mode === 'stream' ? decideStreamClient(server.address) : decideClient(server.address);
  let issued = 0;
  try {
    const cpu = new CpuWindow([server.child.pid, undefined]);
    const result = await closedLoop(
      async (i) => {
        issued++;
        const res = await client.decide(workload.entrypoint, workload.json[i % workload.json.length]!, `bench-${i}`);
        return res.decision === `DECISION_${workload.expect.toUpperCase()}`;
      },
      { ...options, onWindow: (edge) => (edge === 'start' ? cpu.start() : undefined) },
    );
    const [serverCores, clientCores] = cpu.stop();
    client.close();
    await stopProcess(server.child, server.exited);
    // The server logs its ledger size when it stops: every answered call must be in it.
    const stopped = server.lines.map(logLine).find((l) => l.msg === 'stopped');
    const row = modes.length > 1 ? `${mode}: ` : '';
    const note =
      stopped?.ledger_size === undefined
        ? `${row}the server did not log its final ledger size`
        : `${row}server ledger holds ${stopped.ledger_size.toLocaleString('en-US')} entries for ${issued.toLocaleString('en-US')} calls issued (warmup included)`;
    const scenario =
      mode === 'stream'
        ? `gavel serve over gRPC: DecideStream (input_json, all in flight on one stream), ledger file (${durability}), usage on`
        : `gavel serve over gRPC: Decide (input_json), ledger file (${durability}), usage on`;
    const measurement = fromLoad('path', scenario, 'decisions/s', result, {
      concurrency: options.concurrency,
      ...cpuFields(['server', serverCores], ['client', clientCores]),
    });
    return { measurement, note };
  } finally {
    client.close();
    await stopProcess(server.child, server.exited);
    dir.remove();
    cleanups.delete(cleanup);
  }
}

function logLine(line: string): { msg?: string; ledger_size?: number } {
  try {
    return JSON.parse(line) as { msg?: string; ledger_size?: number };
  } catch {
    return {};
  }
}
