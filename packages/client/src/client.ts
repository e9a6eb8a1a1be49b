import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Approval } from './approval.js';
import { CircuitBreaker, type CircuitState } from './breaker.js';
import { unaryCall, watchUntilSettled } from './calls.js';
import { openChannel } from './channel.js';
import { type DecideInput, type DecideOptions, Decision, decideRequest } from './decision.js';
import { closed } from './errors.js';
import type { ApprovalServiceClient } from './gen/gavel/v1/ApprovalService.js';
import type { DecideResponse__Output } from './gen/gavel/v1/DecideResponse.js';
import type { DecisionServiceClient } from './gen/gavel/v1/DecisionService.js';
import type { ReportResponse__Output } from './gen/gavel/v1/ReportResponse.js';
import type { UsageServiceClient } from './gen/gavel/v1/UsageService.js';
import { type ClientOptions, resolveOptions, type Settings } from './options.js';
import { type HealthClient, type ServingStatus, services } from './proto.js';
import { CallRunner } from './runner.js';
import { DecisionStream } from './stream.js';
import { receiptOf, reportRequest, type UsageReceipt, type UsageReport } from './usage.js';

export interface CallOptions {
  /** This call's deadline (default: the client's deadlineMs), spanning its retries. */
  deadlineMs?: number;
  signal?: AbortSignal;
}

/** A client of one gavel server: one channel, retries that never count twice, a circuit breaker. */
export class GavelClient {
  private readonly channel: grpc.Channel;
  private readonly runner: CallRunner;
  private readonly decision: DecisionServiceClient;
  private readonly usage: UsageServiceClient;
  private readonly approvals: ApprovalServiceClient;
  private readonly healthClient: HealthClient;
  private readonly streams = new Set<DecisionStream>();
  private isClosed = false;

  constructor(private readonly settings: Settings) {
    this.channel = openChannel(settings);
    const s = services();
    const shared: grpc.ClientOptions = { channelOverride: this.channel };
    const creds = grpc.credentials.createInsecure(); // unused: the shared channel carries the real credentials
    this.decision = new s.DecisionService(settings.target, creds, shared);
    this.usage = new s.UsageService(settings.target, creds, shared);
    this.approvals = new s.ApprovalService(settings.target, creds, shared);
    this.healthClient = new s.Health(settings.target, creds, shared);
    const breaker = settings.breaker && new CircuitBreaker(settings.breaker, (until) => this.probe(until));
    this.runner = new CallRunner(this.channel, settings.retry, breaker);
  }

  /** closed, open (failing fast) or half-open (probing health); always closed without a breaker. */
  get circuit(): CircuitState {
    return this.runner.breaker?.state ?? 'closed';
  }

  /**
   * May this happen? One Decide. Retried only while no attempt has been sent (waiting for a
   * connection); an attempt that was sent is never repeated, since Decide is not yet idempotent by
   * request id and a repeat would be recorded (and reserve budget) twice.
   */
  async decide(input: DecideInput, options: DecideOptions = {}): Promise<Decision> {
    const request = decideRequest(input, options.requestId ?? randomUUID(), options.policy);
    const deadline = this.deadline(options.deadlineMs);
    const res = await this.run(false, deadline, options.signal, () =>
      unaryCall<DecideResponse__Output>((o, cb) => this.decision.Decide(request, this.metadata(), o, cb), deadline, options.signal),
    );
    return new Decision(res, input);
  }

  /** What an allowed model call used (UsageService.Report). Idempotent by decision id, so any transient failure is retried. */
  async report(decisionId: string, usage: UsageReport, options: CallOptions = {}): Promise<UsageReceipt> {
    const request = reportRequest(decisionId, usage);
    const deadline = this.deadline(options.deadlineMs);
    const res = await this.run(true, deadline, options.signal, () =>
      unaryCall<ReportResponse__Output>((o, cb) => this.usage.Report(request, this.metadata(), o, cb), deadline, options.signal),
    );
    return receiptOf(res);
  }

  /**
   * Waits (WatchApproval, no polling) until approval `id` no longer waits on a person: resolves with
   * it approved, rejected, expired or consumed. No deadline unless given: the server ends the watch
   * at the request's expiry. Rejects on abort (`cancelled`) or deadline (`deadline_exceeded`).
   */
  waitForApproval(id: string, options: CallOptions = {}): Promise<Approval> {
    const deadline = options.deadlineMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.deadlineMs;
    return this.run(true, deadline, options.signal, () => watchUntilSettled(this.approvals, id, this.metadata(), deadline, options.signal));
  }

  /** Many Decides over one DecideStream call (see DecisionStream); closed with the client. */
  decideStream(): DecisionStream {
    if (this.isClosed) throw closed();
    const stream = new DecisionStream({
      deadlineMs: this.settings.deadlineMs,
      open: (deadline) => this.run(false, deadline, undefined, async () => this.decision.DecideStream(this.metadata())),
      broken: () => this.runner.breaker?.failure(),
      done: () => this.streams.delete(stream),
    });
    this.streams.add(stream);
    return stream;
  }

  /** grpc.health.v1 Check of the server ('' = the server as a whole), past the breaker. */
  health(service = '', options: CallOptions = {}): Promise<ServingStatus> {
    const deadline = this.deadline(options.deadlineMs);
    return this.runner.run({ idempotent: true, deadline, signal: options.signal, breaker: false, send: () => this.check(service, deadline, options.signal) });
  }

  /** Cancels open streams and closes the channel; calls in flight finish, new ones fail with `closed`. Use stream.close() first to drain a stream. */
  async close(): Promise<void> {
    this.isClosed = true;
    for (const s of [...this.streams]) s.cancel();
    this.channel.close();
  }

  private run<T>(idempotent: boolean, deadline: number, signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
    if (this.isClosed) return Promise.reject(closed());
    return this.runner.run({ idempotent, deadline, signal, send });
  }

  private async check(service: string, deadline: number, signal?: AbortSignal): Promise<ServingStatus> {
    const res = await unaryCall<{ status: ServingStatus }>((o, cb) => this.healthClient.Check({ service }, new grpc.Metadata(), o, cb), deadline, signal);
    return res.status;
  }

  /** The breaker's probe: a connection by `until` (waiting while grpc-js reconnects), and health SERVING. */
  private async probe(until: number): Promise<boolean> {
    await this.runner.connect(until, undefined, true);
    return (await this.check('', until)) === 'SERVING';
  }

  private deadline(ms: number | undefined): number {
    return Date.now() + (ms ?? this.settings.deadlineMs);
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.settings.caller) md.set('x-gavel-caller', this.settings.caller);
    return md;
  }
}

export function createClient(options: ClientOptions): GavelClient {
  return new GavelClient(resolveOptions(options));
}
