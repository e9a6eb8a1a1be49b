// Original file: proto/gavel/v1/audit.proto

import type { Long } from '@grpc/proto-loader';

export interface GetConsistencyProofResponse {
  'from_size'?: (number | string | Long);
  'to_size'?: (number | string | Long);
  'from_root'?: (Buffer | Uint8Array | string);
  'to_root'?: (Buffer | Uint8Array | string);
  'hashes'?: (Buffer | Uint8Array | string)[];
}

export interface GetConsistencyProofResponse__Output {
  'from_size': (number);
  'to_size': (number);
  'from_root': (Buffer);
  'to_root': (Buffer);
  'hashes': (Buffer)[];
}
