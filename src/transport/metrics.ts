import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Runtime } from '../runtime.js';
import type { TlsFiles } from './security/tls-files.js';

/** Prometheus metrics of one server; exposed over HTTP only when --metrics-listen is set. */
export class Metrics {
  readonly registry = new Registry();
  readonly decisions: Counter<'decision' | 'entrypoint'>;
  /** Answers that were a request id's recorded answer given again (idempotent Decide), by method. */
  readonly replayed: Counter<'method'>;
  readonly errors: Counter<'method' | 'code'>;
  readonly refusals: Counter<'method' | 'code'>;
  readonly bundleActivations: Counter<'bundle' | 'result'>;
  readonly latency: Histogram<'method'>;
  readonly streams: Gauge;
  private readonly loopDelay: IntervalHistogram;

  constructor(runtime: Pick<Runtime, 'audit' | 'stats' | 'approvals' | 'policies' | 'health'>) {
    // 1 ms sampling: a stall of a few milliseconds on the I/O thread delays every call in flight.
    // Enabled only once /metrics is served: its timer wakes the loop every millisecond.
    this.loopDelay = monitorEventLoopDelay({ resolution: 1 });
    const loop = this.loopDelay;
    collectDefaultMetrics({ register: this.registry, prefix: 'gavel_process_' });
    this.decisions = new Counter({
      name: 'gavel_decisions_total',
      help: 'Decisions answered (Decide and DecideStream), by outcome',
      labelNames: ['decision', 'entrypoint'],
      registers: [this.registry],
    });
    this.replayed = new Counter({
      name: 'gavel_decisions_replayed_total',
      help: 'Answers that were the recorded answer to a request_id already decided (a retry), by method; also counted in gavel_decisions_total',
      labelNames: ['method'],
      registers: [this.registry],
    });
    this.errors = new Counter({
      name: 'gavel_errors_total',
      help: 'Calls refused with an error (DecideStream: requests answered with an error), by stable error code',
      labelNames: ['method', 'code'],
      registers: [this.registry],
    });
    this.refusals = new Counter({
      name: 'gavel_refusals_total',
      help: 'Calls refused by the access guard before any handler ran: code="unauthenticated" (no identity) or "permission_denied" (no role)',
      labelNames: ['method', 'code'],
      registers: [this.registry],
    });
    this.bundleActivations = new Counter({
      name: 'gavel_bundle_activations_total',
      help: 'Bundle changes seen while serving: result="activated", "deactivated" or "refused" (the active set kept serving)',
      labelNames: ['bundle', 'result'],
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
    const reading = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    reading('gavel_ledger_entries', 'Entries in the ledger', () => runtime.audit.size);
    reading(
      'gavel_evaluator_faults',
      'Wasm traps and out-of-memory faults since start (each replaced its evaluator; the decision was DENY evaluation_error)',
      () => runtime.stats.evaluationFaults,
    );
    reading('gavel_evaluation_workers', 'Evaluation worker threads (0: decisions are evaluated on the I/O thread)', () => runtime.stats.workers);
    reading(
      'gavel_evaluation_worker_restarts',
      'Evaluation workers replaced since start (crashed, or stopped for running past the evaluation timeout)',
      () => runtime.stats.workerRestarts,
    );
    new Counter({
      name: 'gavel_inline_evaluations_total',
      help: 'Decisions evaluated on the I/O thread although workers run (small inputs that arrived alone); 0 with --workers 0',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(runtime.stats.inlineEvaluations);
      },
    });
    const desk = runtime.approvals;
    if (desk) {
      new Counter({
        name: 'gavel_approval_events_total',
        help: 'Approval events recorded since start: event="requested", "approved" (one per vote), "rejected", "expired", "consumed"',
        labelNames: ['event'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const [event, n] of desk.events()) this.inc({ event }, n);
        },
      });
      new Gauge({
        name: 'gavel_approvals_open',
        help: 'Approval requests open now: pending, or approved and not yet used, before their expiry',
        registers: [this.registry],
        async collect() {
          this.set(await desk.open());
        },
      });
    }
    const health = runtime.health;
    if (health.witnesses.length > 0) {
      new Gauge({
        name: 'gavel_witness_cosigned_size',
        help: 'The largest checkpoint size each witness cosigned for this ledger (witness = its URL)',
        labelNames: ['witness'],
        registers: [this.registry],
        collect() {
          for (const w of health.witnesses) this.set({ witness: w.url }, w.cosignedSize);
        },
      });
      new Gauge({
        name: 'gavel_witness_refused',
        help: "1 while a witness refuses this ledger's checkpoints (its history differs from what the witness saw), else 0",
        labelNames: ['witness'],
        registers: [this.registry],
        collect() {
          for (const w of health.witnesses) this.set({ witness: w.url }, w.refused ? 1 : 0);
        },
      });
    }
    const shadow = runtime.policies.shadow;
    if (shadow) {
      // Counts the engine keeps (monotonic), read at each scrape.
      new Counter({
        name: 'gavel_shadow_decisions_total',
        help: 'Shadow evaluations of live decisions, by the live and the shadow decision (they differ: a divergence)',
        labelNames: ['live', 'shadow'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const t of shadow.transitions()) this.inc({ live: t.live, shadow: t.shadow }, t.count);
        },
      });
      new Counter({
        name: 'gavel_shadow_dropped_total',
        help: 'Shadow evaluations dropped because the shadow queue was full (the live answers were not affected)',
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(shadow.dropped);
        },
      });
      reading('gavel_shadow_queue', 'Shadow evaluations waiting or running', () => shadow.queued);
      reading(
        'gavel_shadow_failed',
        'Shadow evaluations that did not finish (their worker stopped, the engine closed) or whose rows could not be written, since start',
        () => shadow.failed,
      );
      reading('gavel_shadow_disabled', 'Shadow bundles switched off because one of their evaluations stopped its worker', () => shadow.disabled);
    }
    // Since the previous scrape: each scrape reads the interval's figures and starts a new interval.
    new Gauge({
      name: 'gavel_event_loop_delay_seconds',
      help: 'Event-loop delay of the I/O thread since the previous scrape (sampled every 1 ms): stat="max", "p99", "p50"',
      labelNames: ['stat'],
      registers: [this.registry],
      collect() {
        const seen = loop.count > 0;
        this.set({ stat: 'max' }, seen ? loop.max / 1e9 : 0);
        this.set({ stat: 'p99' }, seen ? loop.percentile(99) / 1e9 : 0);
        this.set({ stat: 'p50' }, seen ? loop.percentile(50) / 1e9 : 0);
        loop.reset();
      },
    });
  }

  /**
   * Serves GET /metrics on host:port; resolves with the bound port. With TLS, over HTTPS with the
   * gRPC server's certificate (following its rotation) and, under mutual TLS, its client CA.
   */
  listen(address: string, tls?: TlsFiles): Promise<{ server: Server; port: number }> {
    this.loopDelay.enable();
    const cut = address.lastIndexOf(':');
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body))
        .catch(() => res.writeHead(500).end());
    };
    let server: Server;
    if (tls) {
      const m = tls.current;
      const secure = createTlsServer(
        { cert: m.cert, key: m.key, ...(m.ca ? { ca: m.ca } : {}), requestCert: tls.mutual, rejectUnauthorized: tls.mutual },
        handler,
      );
      tls.onChange((next) => {
        try {
          secure.setSecureContext({ cert: next.cert, key: next.key, ...(next.ca ? { ca: next.ca } : {}) });
        } catch {
          // The set was checked whole before it was offered; the metrics listener keeps the previous one if it still refuses.
        }
      });
      server = secure;
    } else {
      server = createServer(handler);
    }
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(address.slice(cut + 1)), address.slice(0, cut), () => {
        const addr = server.address();
        resolve({ server, port: typeof addr === 'object' && addr ? addr.port : 0 });
      });
    });
  }
}
