import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Core } from '../core.js';

/** Prometheus metrics of one server; exposed over HTTP only when --metrics-listen is set. */
export class Metrics {
  readonly registry = new Registry();
  readonly decisions: Counter<'decision' | 'entrypoint'>;
  readonly errors: Counter<'method' | 'code'>;
  readonly latency: Histogram<'method'>;
  readonly streams: Gauge;

  constructor(core: Core) {
    collectDefaultMetrics({ register: this.registry, prefix: 'gavel_process_' });
    this.decisions = new Counter({
      name: 'gavel_decisions_total',
      help: 'Decisions answered (Decide and DecideStream), by outcome',
      labelNames: ['decision', 'entrypoint'],
      registers: [this.registry],
    });
    this.errors = new Counter({
      name: 'gavel_errors_total',
      help: 'Calls refused with an error (DecideStream: requests answered with an error), by stable error code',
      labelNames: ['method', 'code'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'gavel_call_duration_seconds',
      help: 'Call latency, including the ledger append (DecideStream: per decision, from its request to its answer)',
      labelNames: ['method'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
    this.streams = new Gauge({
      name: 'gavel_decide_streams',
      help: 'DecideStream calls open',
      registers: [this.registry],
    });
    new Gauge({
      name: 'gavel_ledger_entries',
      help: 'Entries in the ledger',
      registers: [this.registry],
      collect() {
        this.set(core.ledger.size);
      },
    });
    new Gauge({
      name: 'gavel_evaluator_faults',
      help: 'Wasm traps and out-of-memory faults since start (each replaced its evaluator)',
      registers: [this.registry],
      collect() {
        const seen = new Set(core.engine.policies.entrypoints().map((e) => core.engine.policies.resolve(e)));
        this.set([...seen].reduce((n, ev) => n + ev.faultCount, 0));
      },
    });
  }

  /** Serves GET /metrics on host:port; resolves with the bound port. */
  listen(address: string): Promise<{ server: Server; port: number }> {
    const cut = address.lastIndexOf(':');
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body))
        .catch(() => res.writeHead(500).end());
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(address.slice(cut + 1)), address.slice(0, cut), () => {
        const addr = server.address();
        resolve({ server, port: typeof addr === 'object' && addr ? addr.port : 0 });
      });
    });
  }
}
