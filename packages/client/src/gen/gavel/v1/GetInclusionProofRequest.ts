// Original file: proto/gavel/v1/audit.proto

import type { Long } from '@grpc/proto-loader';

export interface GetInclusionProofRequest {
  'decision_id'?: (string);
  'seq'?: (number | string | Long);
  'tree_size'?: (number | string | Long);
}

export interface GetInclusionProofRequest__Output {
  'decision_id': (string);
  'seq': (number);
  'tree_size': (number);
}
