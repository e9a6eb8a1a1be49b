import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Approval } from './approval.js';
import { CircuitBreaker, type CircuitState } from './breaker.js';
import { unaryCall, watchUntilSettled } from './calls.js';
import { openChannel } from './channel.js';
import { type DecideInput, type DecideOptions, Decision, decideRequest } from './decision.js';
import { type FlushResult, OutboxDelivery } from './delivery.js';
import { closed, GavelError, toGavelError } from './errors.js';
import type { ApprovalServiceClient } from './gen/gavel/v1/ApprovalService.js';
import type { AuditServiceClient } from './gen/gavel/v1/AuditService.js';
import type { DecideRequest } from './gen/gavel/v1/DecideRequest.js';
import type { DecideResponse__Output } from './gen/gavel/v1/DecideResponse.js';
import type { DecisionServiceClient } from './gen/gavel/v1/DecisionService.js';
import type { RecordOfflineResponse__Output } from './gen/gavel/v1/RecordOfflineResponse.js';
import type { ReportResponse__Output } from './gen/gavel/v1/ReportResponse.js';
import type { UsageServiceClient } from './gen/gavel/v1/UsageService.js';
import type { FallbackDecision, FallbackPolicy } from './fallback.js';
import { fallbackRecord, gavelUnreachable, offlineRecord, offlineResponse, recordOfflineRequest } from './offline.js';
import { type ClientOptions, type FailMode, resolveOptions, type Settings } from './options.js';
import { type OfflineRecord, Outbox } from './outbox.js';
import { type HealthClient, type ServingStatus, services } from './proto.js';
import { CallRunner } from './runner.js';
import { DecisionStream } from './stream.js';
import { type CallTrace, decisionAttributes, degraded, type SpanAttributes, startCall } from './tracing.js';
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
  private readonly audit: AuditServiceClient;
  private readonly delivery: OutboxDelivery | undefined;
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
    this.audit = new s.AuditService(settings.target, creds, shared);
    this.healthClient = new s.Health(settings.target, creds, shared);
    const breaker = settings.breaker && new CircuitBreaker(settings.breaker, (until) => this.probe(until));
    this.runner = new CallRunner(this.channel, settings.retry, breaker);
    this.delivery = settings.outbox && new OutboxDelivery(new Outbox(settings.outbox.path), (r) => this.recordOffline(r));
    if (breaker) breaker.onClose = () => this.delivery?.nudge();
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
    const trace = await startCall('gavel.decide', 'gavel.v1.DecisionService/Decide');
    try {
      const d = await this.decideOrFailMode(request, input, options, trace);
      trace.ok(decisionAttributes(d), degraded(d));
      return d;
    } catch (err) {
      trace.fail(err);
      throw err;
    }
  }

  /** Delivers the outbox's offline decisions to gavel (RecordOffline) now; rejects, keeping them, when gavel cannot be reached. */
  flushOutbox(): Promise<FlushResult> {
    return this.delivery ? this.delivery.flush() : Promise.resolve({ delivered: 0, duplicates: 0, pending: 0 });
  }

  /** What an allowed model call used (UsageService.Report). Idempotent by decision id, so any transient failure is retried. */
  report(decisionId: string, usage: UsageReport, options: CallOptions = {}): Promise<UsageReceipt> {
    const request = reportRequest(decisionId, usage);
    const deadline = this.deadline(options.deadlineMs);
    const attributes = (r: UsageReceipt) => ({ 'gavel.decision.id': r.decisionId, 'gavel.usage.duplicate': r.duplicate });
    return this.traced('gavel.report', 'gavel.v1.UsageService/Report', attributes, async (md) =>
      receiptOf(
        await this.run(true, deadline, options.signal, () =>
          unaryCall<ReportResponse__Output>((o, cb) => this.usage.Report(request, md, o, cb), deadline, options.signal),
        ),
      ),
    );
  }

  /**
   * Waits (WatchApproval, no polling) until approval `id` no longer waits on a person: resolves with
   * it approved, rejected, expired or consumed. No deadline unless given: the server ends the watch
   * at the request's expiry. Rejects on abort (`cancelled`) or deadline (`deadline_exceeded`).
   */
  waitForApproval(id: string, options: CallOptions = {}): Promise<Approval> {
    const deadline = options.deadlineMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.deadlineMs;
    const attributes = (a: Approval) => ({ 'gavel.approval.id': id, 'gavel.approval.state': a.state });
    return this.traced('gavel.wait_for_approval', 'gavel.v1.ApprovalService/WatchApproval', attributes, (md) =>
      this.run(true, deadline, options.signal, () => watchUntilSettled(this.approvals, id, md, deadline, options.signal)),
    );
  }

  /** Many Decides over one DecideStream call (see DecisionStream); closed with the client. */
  decideStream(): DecisionStream {
    if (this.isClosed) throw closed();
    const stream = new DecisionStream({
      deadlineMs: this.settings.deadlineMs,
      open: (deadline) => this.run(false, deadline, undefined, async () => this.decision.DecideStream(this.metadata())),
      failMode: (request, input, route, err) => this.failMode(request, input, route, err),
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
    if (!this.isClosed) await this.delivery?.flush().catch(() => undefined); // a last delivery; what fails waits in the file for the next client
    const first = !this.isClosed;
    this.isClosed = true;
    for (const s of [...this.streams]) s.cancel();
    this.channel.close();
    if (first) await this.settings.fallback?.close();
  }

  private async run<T>(idempotent: boolean, deadline: number, signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
    if (this.isClosed) throw closed();
    const value = await this.runner.run({ idempotent, deadline, signal, send });
    this.delivery?.nudge(); // gavel answered: offline decisions waiting in the outbox can go now
    return value;
  }

  private async decideOrFailMode(request: DecideRequest, input: DecideInput, options: DecideOptions, trace: CallTrace): Promise<Decision> {
    const deadline = this.deadline(options.deadlineMs);
    try {
      const md = this.metadata(trace.headers);
      const res = await this.run(false, deadline, options.signal, () =>
        unaryCall<DecideResponse__Output>((o, cb) => this.decision.Decide(request, md, o, cb), deadline, options.signal),
      );
      return new Decision(res, input);
    } catch (err) {
      const e = toGavelError(err);
      const offline = this.failMode(request, input, options.route, e);
      if (!offline) throw e;
      return offline;
    }
  }

  /** The route's fail mode's answer when `err` says gavel could not be asked; undefined when the call should fail with it. */
  private failMode(request: DecideRequest, input: DecideInput, route: string | undefined, err: GavelError): Promise<Decision> | undefined {
    const mode = route === undefined ? undefined : this.settings.routes[route]?.failMode;
    if (!mode || !this.delivery || !gavelUnreachable(err)) return undefined;
    return this.decideOffline(request, input, route as string, mode, err);
  }

  /** The route's fail mode answers, once the decision is durably in the outbox: no record, no answer. */
  private async decideOffline(request: DecideRequest, input: DecideInput, route: string, mode: FailMode, cause: GavelError): Promise<Decision> {
    const { record, local } =
      mode === 'fallback' ? await this.fallBack(request, route, cause) : { record: offlineRecord(request, route, mode, cause), local: undefined };
    try {
      await this.delivery?.append(record);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new GavelError('outbox_failed', `gavel could not be asked (${cause.code}) and the offline decision could not be written to the outbox: ${why}`, {
        grpcCode: grpc.status.INTERNAL,
        retryable: false,
        cause: err,
      });
    }
    return new Decision(offlineResponse(record, local), input, { mode: record.mode, cause: cause.code, route });
  }

  /** The local copy of the bundle decides; when it cannot (no verified bundle yet, a fault), the route fails closed. */
  private async fallBack(request: DecideRequest, route: string, cause: GavelError): Promise<{ record: OfflineRecord; local: FallbackDecision | undefined }> {
    try {
      const local = await (this.settings.fallback as FallbackPolicy).decide({
        inputJson: request.input_json as Buffer,
        entrypoint: request.policy ?? '',
        requestId: request.request_id ?? '',
      });
      return { record: fallbackRecord(request, route, cause, local), local };
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return { record: offlineRecord(request, route, 'closed', cause, `: its fallback policy could not decide (${why})`), local: undefined };
    }
  }

  /** One RecordOffline of an outbox record (idempotent by offline_id, so retried like a read). */
  private recordOffline(r: OfflineRecord): Promise<{ duplicate: boolean }> {
    const deadline = this.deadline(undefined);
    const attributes = (res: RecordOfflineResponse__Output) => ({
      'gavel.decision.id': r.offline_id,
      'gavel.offline.mode': r.mode,
      'gavel.offline.duplicate': res.duplicate,
    });
    return this.traced('gavel.record_offline', 'gavel.v1.AuditService/RecordOffline', attributes, (md) =>
      this.run(true, deadline, undefined, () =>
        unaryCall<RecordOfflineResponse__Output>((o, cb) => this.audit.RecordOffline(recordOfflineRequest(r), md, o, cb), deadline),
      ),
    );
  }

  /** Runs `call` in a client span whose context goes to the server as traceparent. */
  private async traced<T>(name: string, method: string, attributes: (value: T) => SpanAttributes, call: (md: grpc.Metadata) => Promise<T>): Promise<T> {
    const trace = await startCall(name, method);
    try {
      const value = await call(this.metadata(trace.headers));
      trace.ok(attributes(value));
      return value;
    } catch (err) {
      trace.fail(err);
      throw err;
    }
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

  private metadata(headers: Record<string, string> = {}): grpc.Metadata {
    const md = new grpc.Metadata();
    for (const [key, value] of Object.entries(headers)) md.set(key, value);
    if (this.settings.caller) md.set('x-gavel-caller', this.settings.caller);
    return md;
  }
}

export function createClient(options: ClientOptions): GavelClient {
  return new GavelClient(resolveOptions(options));
}
