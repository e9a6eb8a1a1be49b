// Original file: proto/gavel/v1/audit.proto

import type { Long } from '@grpc/proto-loader';

export interface GetConsistencyProofRequest {
  'from_size'?: (number | string | Long);
  'to_size'?: (number | string | Long);
}

export interface GetConsistencyProofRequest__Output {
  'from_size': (number);
  'to_size': (number);
}
