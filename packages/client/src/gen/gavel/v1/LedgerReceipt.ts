// Original file: proto/gavel/v1/decision.proto

import type { Long } from '@grpc/proto-loader';

export interface LedgerReceipt {
  'seq'?: (number | string | Long);
  'entry_hash'?: (string);
  'leaf_index'?: (number | string | Long);
}

export interface LedgerReceipt__Output {
  'seq': (number);
  'entry_hash': (string);
  'leaf_index': (number);
}
