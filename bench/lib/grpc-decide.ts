import * as grpc from '@grpc/grpc-js';
import { gavelServices } from '../../src/transport/proto.js';

/** The fields of DecideResponse the load generator reads (proto-loader: keepCase, enums as names). */
export interface DecideResponseMessage {
  decision: string;
  receipt?: { seq: number; entry_hash: string };
}

type DecideMethod = (
  request: { policy: string; input_json: Buffer; request_id: string },
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: DecideResponseMessage) => void,
) => grpc.ClientUnaryCall;

export interface DecideClient {
  decide(policy: string, inputJson: Buffer, requestId: string): Promise<DecideResponseMessage>;
  close(): void;
}

/**
 * A Decide client over one channel (one HTTP/2 connection, calls multiplexed
 * on it), as an enforcement point would hold one. Built from the same
 * proto-loader definition the server uses, so nothing is hand-encoded.
 */
export function decideClient(address: string): DecideClient {
  const { DecisionService } = gavelServices();
  const client = new DecisionService(address, grpc.credentials.createInsecure());
  const method = (client as unknown as { Decide: DecideMethod }).Decide.bind(client);
  const metadata = new grpc.Metadata();
  metadata.set('x-gavel-caller', 'bench');
  return {
    decide: (policy, inputJson, requestId) =>
      new Promise((resolve, reject) => {
        method({ policy, input_json: inputJson, request_id: requestId }, metadata, { deadline: Date.now() + 30_000 }, (err, res) =>
          err ? reject(err) : res ? resolve(res) : reject(new Error('empty response')),
        );
      }),
    close: () => client.close(),
  };
}

/** DecideStreamResponse as proto-loader decodes it (oneofs: true). */
interface DecideStreamResponseMessage {
  request_id: string;
  decision?: DecideResponseMessage;
  error?: { code: number; error_code: string; message: string };
}

/**
 * Decide over one DecideStream call: every `decide` writes one request on the
 * same stream and resolves when the answer carrying its request_id arrives
 * (answers come in commit order, not request order), so N callers keep N
 * decisions in flight on one stream. request_ids must be unique. An error
 * answer rejects that call only; the end of the stream rejects every call
 * still waiting.
 */
export function decideStreamClient(address: string): DecideClient {
  const { DecisionService } = gavelServices();
  const client = new DecisionService(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('x-gavel-caller', 'bench');
  const call = (client as unknown as { DecideStream: (m: grpc.Metadata) => grpc.ClientDuplexStream<unknown, DecideStreamResponseMessage> }).DecideStream(
    metadata,
  );
  const waiting = new Map<string, { resolve: (r: DecideResponseMessage) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  call.on('data', (answer: DecideStreamResponseMessage) => {
    const w = waiting.get(answer.request_id);
    if (!w) return;
    waiting.delete(answer.request_id);
    if (answer.decision) w.resolve(answer.decision);
    else w.reject(new Error(`${answer.error?.error_code ?? 'no result'}: ${answer.error?.message ?? ''}`));
  });
  call.on('error', (err: Error) => failAll(err));
  call.on('end', () => failAll(new Error('the stream ended with calls unanswered')));
  let closed = false;
  return {
    decide: (policy, inputJson, requestId) =>
      new Promise((resolve, reject) => {
        if (closed) return reject(new Error('stream closed'));
        waiting.set(requestId, { resolve, reject });
        call.write({ policy, input_json: inputJson, request_id: requestId });
      }),
    close: () => {
      if (closed) return;
      closed = true;
      call.end();
      client.close();
    },
  };
}
