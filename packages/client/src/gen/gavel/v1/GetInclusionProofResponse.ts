// Original file: proto/gavel/v1/audit.proto

import type { Long } from '@grpc/proto-loader';

export interface GetInclusionProofResponse {
  'seq'?: (number | string | Long);
  'decision_id'?: (string);
  'leaf_index'?: (number | string | Long);
  'tree_size'?: (number | string | Long);
  'header'?: (string);
  'hashes'?: (Buffer | Uint8Array | string)[];
  'root_hash'?: (Buffer | Uint8Array | string);
  'checkpoint'?: (string);
}

export interface GetInclusionProofResponse__Output {
  'seq': (number);
  'decision_id': (string);
  'leaf_index': (number);
  'tree_size': (number);
  'header': (string);
  'hashes': (Buffer)[];
  'root_hash': (Buffer);
  'checkpoint': (string);
}
