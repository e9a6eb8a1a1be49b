/**
 * The event-loop delay of a bench process other than gavel, served the way
 * gavel serves its own (`gavel_event_loop_delay_seconds{stat="max"|"p99"|"p50"}`
 * on GET /metrics, sampled every 1 ms, each scrape reading the interval since
 * the previous one and starting the next), so bench/service.ts scrapes the
 * gRPC floor, the idle probe and gavel alike.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Starts sampling and serving on 127.0.0.1; resolves with the port. */
export function serveLoopDelay(): Promise<number> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const seen = loop.count > 0;
    const stat = (name: string, ns: number) => `gavel_event_loop_delay_seconds{stat="${name}"} ${seen ? ns / 1e9 : 0}\n`;
    const body = stat('max', loop.max) + stat('p99', loop.percentile(99)) + stat('p50', loop.percentile(50));
    loop.reset();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  server.unref();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}
