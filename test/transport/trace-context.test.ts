import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, jsonInput, unary, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';

/**
 * A decision can be found from a trace: the W3C `traceparent` a caller sends is recorded in the
 * entry's payload (trace id and the caller's span id) and in the server's "decided" log line.
 */
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const lines: Array<Record<string, unknown>> = [];
let srv: InProcessServer;
let c: Clients;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db') }, { log: pino({ level: 'debug' }, sink) });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const input = {
  subject: { id: 'alice', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
  action: { type: 'model.invoke', model: 'standard-m' },
};
const withTraceparent = (value: string) => {
  const md = new grpc.Metadata();
  md.set('traceparent', value);
  return md;
};
const payloadOf = async (decisionId: string) =>
  JSON.parse((await unary(c.audit, 'GetDecision', { decision_id: decisionId })).payload_json.toString()) as Record<string, unknown>;

describe('trace context', () => {
  it('Decide records the trace in the payload and the log line', async () => {
    const d = await unary(c.decision, 'Decide', { ...jsonInput(input), request_id: 'traced' }, withTraceparent(`00-${TRACE}-${SPAN}-01`));
    expect((await payloadOf(d.decision_id)).trace).toEqual({ trace_id: TRACE, parent_span_id: SPAN });
    expect(lines.find((l) => l.msg === 'decided' && l.decision_id === d.decision_id)).toMatchObject({ trace_id: TRACE });
    expect((await unary(c.audit, 'Verify', {})).ok).toBe(true);
  });

  it('a missing, malformed or all-zero traceparent is no trace, and the call is decided as usual', async () => {
    for (const value of [
      undefined,
      'nonsense',
      `01-${TRACE}-${SPAN}-01`,
      `00-${'0'.repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    ]) {
      const d = await unary(c.decision, 'Decide', jsonInput(input), value === undefined ? new grpc.Metadata() : withTraceparent(value));
      expect([value, d.decision]).toEqual([value, 'DECISION_ALLOW']);
      expect([value, (await payloadOf(d.decision_id)).trace]).toEqual([value, undefined]);
      expect(lines.find((l) => l.msg === 'decided' && l.decision_id === d.decision_id)).not.toHaveProperty('trace_id');
    }
  });

  it("DecideStream records the stream's trace on each of its decisions", async () => {
    const call = (c.decision as unknown as { DecideStream(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, Record<string, any>> }).DecideStream(
      withTraceparent(`00-${TRACE}-${SPAN}-01`),
    );
    const answers: Array<Record<string, any>> = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (a) => answers.push(a));
      call.on('error', reject);
      call.on('end', resolve);
    });
    for (const id of ['s-1', 's-2']) call.write({ ...jsonInput(input), request_id: id });
    call.end();
    await done;
    expect(answers).toHaveLength(2);
    for (const a of answers) {
      expect((await payloadOf(a.decision.decision_id)).trace).toEqual({ trace_id: TRACE, parent_span_id: SPAN });
      expect(lines.find((l) => l.msg === 'decided' && l.decision_id === a.decision.decision_id)).toMatchObject({ trace_id: TRACE, stream: true });
    }
  });
});
