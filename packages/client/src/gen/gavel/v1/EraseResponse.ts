// Original file: proto/gavel/v1/audit.proto

import type { SeqRange as _gavel_v1_SeqRange, SeqRange__Output as _gavel_v1_SeqRange__Output } from '../../gavel/v1/SeqRange.js';
import type { LedgerReceipt as _gavel_v1_LedgerReceipt, LedgerReceipt__Output as _gavel_v1_LedgerReceipt__Output } from '../../gavel/v1/LedgerReceipt.js';
import type { Long } from '@grpc/proto-loader';

export interface EraseResponse {
  'erased'?: (number | string | Long);
  'seqs'?: (_gavel_v1_SeqRange)[];
  'erasure_id'?: (string);
  'receipt'?: (_gavel_v1_LedgerReceipt | null);
}

export interface EraseResponse__Output {
  'erased': (number);
  'seqs': (_gavel_v1_SeqRange__Output)[];
  'erasure_id': (string);
  'receipt': (_gavel_v1_LedgerReceipt__Output | null);
}
