import { deflateHead } from '../../lib/deflate-head.js';
import { WasmEvaluator } from '../evaluator.js';
import { evaluateDecision, prepareDecision, shadowOutcome, type Prepared } from '../stages.js';
import { toWire, type FromWorker, type ToWorker, type WorkerSetup } from './protocol.js';

/**
 * What an evaluation worker does with each message from the pool: parses and
 * evaluates decisions with its own wasm instance of each loaded bundle, and
 * keeps a prepared input until the engine drops it. Nothing here touches the
 * ledger or usage state. Apart from the thread's port (worker.ts), so it runs,
 * and is tested, on any thread.
 */
export class WorkerHandler {
  private readonly evaluators = new Map<string, WasmEvaluator>();
  private readonly prepared = new Map<number, Prepared>();

  constructor(
    private readonly limits: WorkerSetup['limits'],
    private readonly reply: (message: FromWorker) => void,
  ) {}

  /** Answers a message under its id; one that fails is answered with its fault. A load or drop-bundle carries no id and is never answered, and a drop cannot fail. */
  handle(m: ToWorker): void {
    try {
      this.dispatch(m);
    } catch (err) {
      if ('id' in m) this.reply({ t: 'fault', id: m.id, fault: toWire(err) });
    }
  }

  private dispatch(m: ToWorker): void {
    switch (m.t) {
      case 'load':
        this.evaluators.set(m.load.key, new WasmEvaluator({ ...m.load.bundle, wasm: new Uint8Array(0) }, this.limits, m.load.module));
        return;
      case 'drop-bundle':
        this.evaluators.delete(m.key);
        return;
      case 'prepare': {
        const p = prepareDecision(m.req, this.limits);
        this.prepared.set(m.id, p);
        this.reply({
          t: 'prepared',
          id: m.id,
          value: { header: p.header, facts: p.facts, binding: p.binding, ...(p.recalled ? { recalled: p.recalled } : {}) },
        });
        return;
      }
      case 'evaluate': {
        // Kept until the engine drops it: a decision whose usage went stale is evaluated again.
        const [p, evaluator] = this.named(m.id, m.key);
        const started = performance.now();
        const value = evaluateDecision(evaluator, p, m.req);
        const ms = performance.now() - started;
        // Deflated here, off the serial thread: it only appends the keys the payload gains there (`usage`, `trace`) and its `}`.
        // Sent as its bytes and length alone: its text is the payload's own, which the message carries already.
        const { payloadJcs } = value.record;
        const head = deflateHead(payloadJcs.slice(0, -1));
        this.reply({ t: 'evaluated', id: m.id, value, ms, head: { bytes: head.bytes, length: head.text.length } });
        return;
      }
      case 'shadow': {
        const [p, evaluator] = this.named(m.id, m.key);
        this.reply({ t: 'shadowed', id: m.id, value: shadowOutcome(evaluator, p, m.req) });
        return;
      }
      case 'drop':
        this.prepared.delete(m.id);
        return;
      case 'ping':
        this.reply({ t: 'pong', id: m.id, census: { held: this.prepared.size, bundles: this.evaluators.size } });
        return;
    }
  }

  /** The prepared decision and the loaded bundle a message names. */
  private named(id: number, key: string): [Prepared, WasmEvaluator] {
    const p = this.prepared.get(id);
    if (!p) throw new Error(`worker has no prepared decision ${id}`);
    const evaluator = this.evaluators.get(key);
    if (!evaluator) throw new Error(`worker has no bundle ${key}`);
    return [p, evaluator];
  }
}
