// Original file: proto/gavel/v1/audit.proto

import type { Long } from '@grpc/proto-loader';

export interface SeqRange {
  'from'?: (number | string | Long);
  'to'?: (number | string | Long);
}

export interface SeqRange__Output {
  'from': (number);
  'to': (number);
}
