/**
 * An idle Node process that only measures its own event-loop delay
 * (lib/loop-gauge.ts). bench/service.ts runs it beside each open-loop window:
 * whatever delay it sees was not caused by its own work, so it is the delay
 * the machine's scheduler (the server, the load generator, the neighbours of
 * this VM) imposes on any thread at that moment — the baseline for gavel's
 * "no event-loop stall over 5 ms".
 *
 * Prints one JSON line `{"msg":"probe ready","metrics_port":N}`; stops on SIGTERM.
 */
import { serveLoopDelay } from './loop-gauge.js';

const metricsPort = await serveLoopDelay();
const keepAlive = setInterval(() => undefined, 60_000);
process.stdout.write(`${JSON.stringify({ msg: 'probe ready', metrics_port: metricsPort })}\n`);
process.once('SIGTERM', () => {
  clearInterval(keepAlive);
  process.exit(0);
});
