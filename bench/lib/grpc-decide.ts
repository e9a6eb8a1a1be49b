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
