/**
 * The full service: `gavel serve` started as its own process (real ledger
 * file, usage metering on, as deployed), driven over loopback gRPC with
 * --concurrency Decide calls in flight for --seconds after --warmup.
 *
 *   npx tsx bench/decide.ts --concurrency 64 --seconds 20
 *   npx tsx bench/decide.ts --durability full
 */
import { join } from 'node:path';
import { startChild } from '../test/helpers/server.js';
import { COMMON_FLAGS, commonOptions, readFlags, stringFlag } from './lib/args.js';
import { CpuWindow } from './lib/cpu.js';
import { decideClient } from './lib/grpc-decide.js';
import { closedLoop } from './lib/load.js';
import { BUNDLES, tempDir } from './lib/paths.js';
import { stopProcess, watchdog } from './lib/process.js';
import { cpuFields, fromLoad, report } from './lib/result.js';
import { loadWorkload } from './lib/workload.js';

const flags = readFlags({ ...COMMON_FLAGS, durability: { type: 'string' } });
const options = commonOptions(flags, { seconds: 10, warmup: 2 });
const durability = stringFlag(flags, 'durability') ?? 'normal';
if (durability !== 'normal' && durability !== 'full') throw new Error('--durability must be normal or full');

const workload = loadWorkload();
const dir = tempDir('gavel-bench-grpc-');
const server = await startChild(['--ledger', join(dir.path, 'ledger.db'), '--bundles', BUNDLES, '--durability', durability]);
watchdog(options.warmupSeconds + options.seconds + 90, 'bench/decide', () => {
  server.child.kill('SIGKILL');
  dir.remove();
});
const client = decideClient(server.address);
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
  const notes =
    stopped?.ledger_size === undefined
      ? ['the server did not log its final ledger size']
      : [`server ledger holds ${stopped.ledger_size.toLocaleString('en-US')} entries for ${issued.toLocaleString('en-US')} calls issued (warmup included)`];
  report(
    {
      part: 'decide',
      measurements: [
        fromLoad('path', `gavel serve over gRPC: Decide (input_json), ledger file (${durability}), usage on`, 'decisions/s', result, {
          concurrency: options.concurrency,
          ...cpuFields(['server', serverCores], ['client', clientCores]),
        }),
      ],
      notes,
    },
    options.out,
  );
} finally {
  client.close();
  await stopProcess(server.child, server.exited);
  dir.remove();
}
process.exit(0);

function logLine(line: string): { msg?: string; ledger_size?: number } {
  try {
    return JSON.parse(line) as { msg?: string; ledger_size?: number };
  } catch {
    return {};
  }
}
