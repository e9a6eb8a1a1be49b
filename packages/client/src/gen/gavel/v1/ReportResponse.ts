// Original file: proto/gavel/v1/usage.proto

import type { Long } from '@grpc/proto-loader';

export interface ReportResponse {
  'decision_id'?: (string);
  'duplicate'?: (boolean);
  'cost'?: (string);
  'currency'?: (string);
  'tokens'?: (number | string | Long);
}

export interface ReportResponse__Output {
  'decision_id': (string);
  'duplicate': (boolean);
  'cost': (string);
  'currency': (string);
  'tokens': (number);
}
