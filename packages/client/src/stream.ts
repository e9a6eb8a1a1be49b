import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { type DecideInput, type DecideOptions, Decision, decideRequest } from './decision.js';
import { cancelled, closed, deadlineExceeded, fromServiceError, GavelError, toGavelError, unavailable } from './errors.js';
import type { DecideRequest } from './gen/gavel/v1/DecideRequest.js';
import type { DecideStreamRequest } from './gen/gavel/v1/DecideStreamRequest.js';
import type { DecideStreamResponse__Output } from './gen/gavel/v1/DecideStreamResponse.js';

import { type CallTrace, decisionAttributes, degraded, startCall } from './tracing.js';

const METHOD = 'gavel.v1.DecisionService/DecideStream';

export type DecideCall = grpc.ClientDuplexStream<DecideStreamRequest, DecideStreamResponse__Output>;

interface Waiting {
  input: DecideInput;
  /** Written to the stream: its id stays taken until its answer comes, even once nobody waits for it. */
  sent: boolean;
  done: boolean;
  resolve(d: Decision): void;
  fail(err: GavelError): void;
}

export interface StreamHooks {
  /** Opens a DecideStream call once a connection is READY (retried and guarded like any call), by `deadline`. */
  open(deadline: number): Promise<DecideCall>;
  /** The route's fail mode's answer when gavel could not be asked (as for decide()); undefined: the call fails with `err`. */
  failMode(request: DecideRequest, input: DecideInput, route: string | undefined, err: GavelError): Promise<Decision> | undefined;
  /** The call broke: a connection failure counts for the breaker. */
  broken(err: GavelError): void;
  /** close() or cancel() was called: the client forgets the stream. */
  done(): void;
  deadlineMs: number;
}

/**
 * Many Decides over ONE DecideStream call, for gateways. Each request carries a request id unique
 * on the stream (a UUID unless given; a given id still waiting for its answer is refused with
 * `request_id_in_use`), and each answer is matched to its request by that id, in whatever order the
 * server commits them. An error answer (StreamError) rejects its request alone, as a GavelError.
 * When the call breaks, every request still waiting is rejected (its decision may or may not have
 * been recorded: like a sent Decide, it is not retried), and the next decide opens a new call.
 *
 * A request's deadline or abort stops the wait, not the decision: once written, the server decides
 * and records it, and its answer is dropped. Only cancel() (the whole call) abandons decisions in
 * flight, as a cancelled Decide is.
 */
export class DecisionStream {
  private call: DecideCall | undefined;
  private opening: Promise<DecideCall> | undefined;
  private readonly waiting = new Map<string, Waiting>();
  private ending: Promise<void> | undefined;

  constructor(private readonly hooks: StreamHooks) {}

  /** Requests whose answer has not come yet (including ones nobody waits for any more). */
  get inFlight(): number {
    return this.waiting.size;
  }

  decide(input: DecideInput, options: DecideOptions = {}): Promise<Decision> {
    if (this.ending) return Promise.reject(closed());
    const requestId = options.requestId ?? randomUUID();
    if (this.waiting.has(requestId)) {
      return Promise.reject(
        new GavelError('request_id_in_use', `request id ${requestId} is still waiting for its answer on this stream`, {
          grpcCode: grpc.status.ALREADY_EXISTS,
          retryable: false,
        }),
      );
    }
    let request: DecideStreamRequest;
    try {
      request = decideRequest(input, requestId, options.policy);
    } catch (err) {
      return Promise.reject(err);
    }
    const deadline = Date.now() + (options.deadlineMs ?? this.hooks.deadlineMs);
    // A client span per decision; its traceparent goes with the request (the stream's own is the call's).
    const tracing = startCall('gavel.decide', METHOD);
    const answered = new Promise<Decision>((resolve, reject) => {
      const w = this.enter(requestId, input, deadline, options.signal, resolve, reject);
      if (w.done) return;
      Promise.all([this.ensureOpen(deadline), tracing]).then(
        ([call, trace]) => {
          if (w.done) return;
          w.sent = true;
          const traceparent = trace.headers.traceparent;
          call.write(traceparent ? { ...request, traceparent } : request);
        },
        (err: unknown) => w.fail(toGavelError(err)),
      );
    });
    return this.settle(answered, tracing, request, input, options.route);
  }

  /** The answer, or the route's fail mode's when gavel could not be asked; the span ends with it. */
  private async settle(
    answered: Promise<Decision>,
    tracing: Promise<CallTrace>,
    request: DecideRequest,
    input: DecideInput,
    route: string | undefined,
  ): Promise<Decision> {
    const trace = await tracing;
    try {
      const d = await answered.catch((err: unknown) => {
        const e = toGavelError(err);
        const offline = this.hooks.failMode(request, input, route, e);
        if (!offline) throw e;
        return offline;
      });
      trace.ok(decisionAttributes(d), degraded(d));
      return d;
    } catch (err) {
      trace.fail(err);
      throw err;
    }
  }

  /** Half-closes the call: the server answers every decision in flight, then ends it. Resolves once it has. */
  close(): Promise<void> {
    if (!this.ending) this.hooks.done();
    this.ending ??= new Promise<void>((resolve) => {
      const call = this.call;
      if (!call && !this.opening) return resolve();
      const end = (c: DecideCall) => {
        c.on('status', () => resolve());
        c.end();
      };
      if (call) end(call);
      else this.opening?.then(end, () => resolve());
    });
    return this.ending;
  }

  /** Cancels the call: decisions in flight are abandoned (nothing recorded for those not yet committed). */
  cancel(): void {
    if (!this.ending) this.hooks.done();
    this.ending ??= Promise.resolve();
    this.call?.cancel();
    this.failAll(cancelled('the stream was cancelled'));
  }

  private enter(
    id: string,
    input: DecideInput,
    deadline: number,
    signal: AbortSignal | undefined,
    resolve: (d: Decision) => void,
    reject: (e: unknown) => void,
  ): Waiting {
    const timer = setTimeout(() => w.fail(deadlineExceeded(`no answer to request ${id} within its deadline`)), Math.max(0, deadline - Date.now()));
    const onAbort = () => w.fail(cancelled(`request ${id} was cancelled (a decision already sent is still recorded)`));
    const finish = () => {
      w.done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (!w.sent) this.waiting.delete(id);
    };
    const w: Waiting = {
      input,
      sent: false,
      done: false,
      resolve: (d) => {
        if (w.done) return;
        finish();
        resolve(d);
      },
      fail: (err) => {
        if (w.done) return;
        finish();
        reject(err);
      },
    };
    this.waiting.set(id, w);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    return w;
  }

  private ensureOpen(deadline: number): Promise<DecideCall> {
    if (this.call) return Promise.resolve(this.call);
    this.opening ??= this.hooks.open(deadline).then(
      (call) => {
        this.opening = undefined;
        this.attach(call);
        return call;
      },
      (err: unknown) => {
        this.opening = undefined;
        throw err;
      },
    );
    return this.opening;
  }

  private attach(call: DecideCall): void {
    this.call = call;
    call.on('data', (answer: DecideStreamResponse__Output) => this.answer(answer));
    call.on('error', (err: grpc.ServiceError) => this.ended(call, fromServiceError(err)));
    call.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) this.ended(call, unavailable('the server ended the stream before answering'));
    });
  }

  private answer(a: DecideStreamResponse__Output): void {
    const w = this.waiting.get(a.request_id);
    if (!w) return;
    this.waiting.delete(a.request_id);
    try {
      w.resolve(decisionOf(a, w.input));
    } catch (err) {
      w.fail(toGavelError(err));
    }
  }

  private ended(call: DecideCall, err: GavelError): void {
    if (this.call !== call) return;
    this.call = undefined;
    if (this.waiting.size > 0) this.hooks.broken(err);
    this.failAll(err);
  }

  private failAll(err: GavelError): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.fail(err);
  }
}

/** An answer's decision; its StreamError as the GavelError Decide would have failed with. */
function decisionOf(a: DecideStreamResponse__Output, input: DecideInput): Decision {
  if (a.decision) return new Decision(a.decision, input);
  const e = a.error;
  throw new GavelError(e?.error_code || 'internal', e?.message ?? 'the server answered neither a decision nor an error', {
    grpcCode: e?.code ?? grpc.status.INTERNAL,
  });
}
