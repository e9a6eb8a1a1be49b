/**
 * The floor of a served decision: gavel's own DecisionService on grpc-js with
 * no decision behind it. Decide parses the input JSON and answers a fixed
 * ALLOW of the size and shape of gavel's real answer (one reason, policy,
 * receipt); nothing is evaluated, metered or recorded. What ghz measures
 * against it is the cost of loopback gRPC, HTTP/2, protobuf and the client:
 * the part of a decision's latency that no engine work can remove.
 *
 * It also serves its event-loop delay as gavel does (lib/loop-gauge.ts), so
 * the open-loop rows compare gavel's stalls with those of a server doing no work.
 *
 * Run as its own process by bench/service.ts; prints one JSON line
 * `{"msg":"floor serving","port":N,"metrics_port":M}` and serves until SIGTERM.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { gavelServices, loadPackageDefinition } from '../../src/transport/proto.js';
import { serveLoopDelay } from './loop-gauge.js';

const services = gavelServices(loadPackageDefinition());
const server = new grpc.Server();
const answer = (requestId: string) => ({
  decision_id: randomUUID(),
  decision: 'DECISION_ALLOW',
  reasons: [{ code: 'allowed', message: 'model standard-m is permitted for this subject', rule: 'gavel.ai.decision', effect: 'allow' }],
  redacted_input_json: Buffer.alloc(0),
  redactions: [],
  obligations_json: Buffer.from('{}'),
  policy: { bundle: 'ai', revision: 'floor', digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000' },
  receipt: { seq: 1, entry_hash: '0000000000000000000000000000000000000000000000000000000000000000' },
  request_id: requestId,
  entrypoint: 'gavel/ai/decision',
  evaluated_at: new Date().toISOString(),
});
server.addService(services.DecisionService.service, {
  Decide: (call: grpc.ServerUnaryCall<{ input_json: Buffer; request_id: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    JSON.parse(call.request.input_json.toString('utf8'));
    callback(null, answer(call.request.request_id));
  },
  DecideStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
});
const metricsPort = await serveLoopDelay();
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ msg: 'floor serving', port, metrics_port: metricsPort })}\n`);
});
process.once('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
