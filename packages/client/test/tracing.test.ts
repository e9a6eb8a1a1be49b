import { join } from 'node:path';
import { type Context, propagation, SpanKind, SpanStatusCode, type TextMapSetter, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clients, type Clients, unary } from '../../../test/helpers/client.js';
import { BUNDLES, tempDir } from '../../../test/helpers/paths.js';
import { type InProcessServer, startInProcess } from '../../../test/helpers/server.js';
import { modelCall } from '../../../test/usage/helpers.js';
import { createClient, type GavelClient } from '../src/index.js';
import { loadOptional, startCall } from '../src/tracing.js';
import { freePort, refusal } from './helpers.js';

/**
 * OpenTelemetry with a real tracer provider (the SDK's BasicTracerProvider, spans kept in memory)
 * and a real server: each SDK call is a client span, and the server records the span's trace in
 * the decision's ledger payload (README "Tracing"), so a decision is found from its trace.
 */
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const alice = { subject: 'sdk-otel', team: 'platform', costCenter: 'cc-100' };
let srv: InProcessServer;
let raw: Clients;
let gavel: GavelClient;

beforeAll(async () => {
  trace.setGlobalTracerProvider(provider);
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db') });
  raw = clients(srv.address);
  gavel = createClient({ target: srv.address, tls: 'insecure' });
});
afterAll(async () => {
  await gavel.close();
  raw.close();
  await srv.stop();
  trace.disable();
});
beforeEach(() => exporter.reset());

const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
const payloadOf = async (id: string) => JSON.parse((await unary(raw.audit, 'GetDecision', { decision_id: id })).payload_json.toString()) as Record<string, any>;

describe('OpenTelemetry', () => {
  it("decide is a client span whose trace the server records in the decision's payload", async () => {
    const d = await gavel.decide(modelCall(alice));
    const [span] = spans('gavel.decide');
    expect(span).toBeDefined();
    expect(span!.kind).toBe(SpanKind.CLIENT);
    expect(span!.attributes).toMatchObject({
      'gavel.decision.outcome': 'allow',
      'gavel.decision.reason_codes': d.reasons.map((r) => r.code),
      'gavel.decision.id': d.decisionId,
      'gavel.policy.revision': d.policy.revision,
      'rpc.method': 'gavel.v1.DecisionService/Decide',
    });
    expect(d.policy.revision).not.toBe('');
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
    const { traceId, spanId } = span!.spanContext();
    expect((await payloadOf(d.decisionId)).trace).toEqual({ trace_id: traceId, parent_span_id: spanId });
  });

  it('a refused call ends its span with the error status and the code', async () => {
    const err = await refusal(gavel.decide(new TextEncoder().encode('[1]')));
    const [span] = spans('gavel.decide');
    expect([span!.status.code, span!.attributes['gavel.error.code'], span!.status.message]).toEqual([SpanStatusCode.ERROR, 'invalid_input', err.message]);
    expect(span!.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('report is a span too', async () => {
    const d = await gavel.decide(modelCall(alice));
    await gavel.report(d.decisionId, { ...alice, model: d.model!, inputTokens: 10, outputTokens: 5 });
    const [span] = spans('gavel.report');
    expect(span!.attributes).toMatchObject({ 'gavel.decision.id': d.decisionId, 'gavel.usage.duplicate': false });
  });

  it('an offline decision says so on its span; its delivery is a span of its own', async () => {
    const outbox = join(tempDir(), 'outbox.jsonl');
    const down = createClient({
      target: `127.0.0.1:${await freePort()}`,
      tls: 'insecure',
      retry: false,
      routes: { chat: { failMode: 'closed' } },
      outbox: { path: outbox },
    });
    const d = await down.decide(modelCall(alice), { route: 'chat' });
    await down.close();
    const [span] = spans('gavel.decide');
    expect(span!.attributes).toMatchObject({
      'gavel.offline.mode': 'closed',
      'gavel.offline.cause': 'unavailable',
      'gavel.decision.outcome': 'deny',
      'gavel.decision.id': d.decisionId,
    });
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);

    const up = createClient({ target: srv.address, tls: 'insecure', routes: { chat: { failMode: 'closed' } }, outbox: { path: outbox } });
    expect(await up.flushOutbox()).toMatchObject({ delivered: 1 });
    await up.close();
    const delivered = spans('gavel.record_offline');
    expect(delivered.map((s) => s.attributes['gavel.decision.id'])).toContain(d.decisionId);
  });

  it('decideStream: a client span per decision, each recorded under its own trace, though they share one call', async () => {
    const stream = gavel.decideStream();
    try {
      const [a, b] = await Promise.all([stream.decide(modelCall(alice)), stream.decide(modelCall(alice, 'frontier-xl'))]);
      const byId = new Map(spans('gavel.decide').map((s) => [s.attributes['gavel.decision.id'], s]));
      for (const d of [a, b]) {
        const span = byId.get(d.decisionId)!;
        expect(span.attributes).toMatchObject({
          'rpc.method': 'gavel.v1.DecisionService/DecideStream',
          'gavel.decision.outcome': d.outcome,
          'gavel.decision.reason_codes': d.reasons.map((r) => r.code),
        });
        const { traceId, spanId } = span.spanContext();
        expect((await payloadOf(d.decisionId)).trace).toEqual({ trace_id: traceId, parent_span_id: spanId });
      }
      expect(byId.get(a.decisionId)!.spanContext().traceId).not.toBe(byId.get(b.decisionId)!.spanContext().traceId);
      const refused = await refusal(stream.decide(new TextEncoder().encode('[1]')));
      const failed = spans('gavel.decide').find((s) => s.status.code === SpanStatusCode.ERROR)!;
      expect([failed.attributes['gavel.error.code'], failed.status.message]).toEqual(['invalid_input', refused.message]);
    } finally {
      await stream.close();
    }
  });

  it("with a propagator registered, the API's propagation writes the headers", async () => {
    const seen: string[] = [];
    propagation.setGlobalPropagator({
      inject(ctx: Context, carrier: unknown, setter: TextMapSetter) {
        const sc = trace.getSpanContext(ctx)!;
        seen.push(sc.spanId);
        setter.set(carrier, 'traceparent', `00-${sc.traceId}-${sc.spanId}-01`);
      },
      extract: (ctx: Context) => ctx,
      fields: () => ['traceparent'],
    });
    try {
      const d = await gavel.decide(modelCall(alice));
      const [span] = spans('gavel.decide');
      expect(seen).toEqual([span!.spanContext().spanId]);
      expect((await payloadOf(d.decisionId)).trace.trace_id).toBe(span!.spanContext().traceId);
    } finally {
      propagation.disable();
    }
  });
});

describe('without @opentelemetry/api', () => {
  it('a module that cannot be imported is no tracing: no span, no headers, ending does nothing', async () => {
    const missing = () => loadOptional(() => import('@opentelemetry/not-installed-here' as string));
    expect(await missing()).toBeUndefined();
    exporter.reset();
    const t = await startCall('gavel.decide', 'gavel.v1.DecisionService/Decide', missing);
    expect(t.headers).toEqual({});
    t.ok({ 'gavel.decision.outcome': 'allow' });
    t.fail(new Error('x'));
    expect(exporter.getFinishedSpans()).toEqual([]);
    // The same call with the API present is a span: the difference is the import alone.
    (await startCall('gavel.decide', 'gavel.v1.DecisionService/Decide')).ok({});
    expect(exporter.getFinishedSpans()).toHaveLength(1);
  });
});
