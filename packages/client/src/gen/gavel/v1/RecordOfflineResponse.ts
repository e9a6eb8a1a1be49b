// Original file: proto/gavel/v1/audit.proto

import type { LedgerReceipt as _gavel_v1_LedgerReceipt, LedgerReceipt__Output as _gavel_v1_LedgerReceipt__Output } from '../../gavel/v1/LedgerReceipt.js';

export interface RecordOfflineResponse {
  'decision_id'?: (string);
  'duplicate'?: (boolean);
  'receipt'?: (_gavel_v1_LedgerReceipt | null);
}

export interface RecordOfflineResponse__Output {
  'decision_id': (string);
  'duplicate': (boolean);
  'receipt': (_gavel_v1_LedgerReceipt__Output | null);
}
