// Original file: proto/gavel/v1/audit.proto

import type { Long } from '@grpc/proto-loader';

export interface LatestCheckpointResponse {
  'note'?: (string);
  'size'?: (number | string | Long);
  'head_hash'?: (string);
  'verifier_key'?: (string);
}

export interface LatestCheckpointResponse__Output {
  'note': (string);
  'size': (number);
  'head_hash': (string);
  'verifier_key': (string);
}
