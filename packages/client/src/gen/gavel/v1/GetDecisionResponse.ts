// Original file: proto/gavel/v1/audit.proto

import type { LedgerEntry as _gavel_v1_LedgerEntry, LedgerEntry__Output as _gavel_v1_LedgerEntry__Output } from '../../gavel/v1/LedgerEntry.js';
import type { Long } from '@grpc/proto-loader';

export interface GetDecisionResponse {
  'entry'?: (_gavel_v1_LedgerEntry | null);
  'payload_json'?: (Buffer | Uint8Array | string);
  'salt'?: (string);
  'payload_erased'?: (boolean);
  'payload_withheld'?: (boolean);
  'erased_by_seq'?: (number | string | Long);
}

export interface GetDecisionResponse__Output {
  'entry': (_gavel_v1_LedgerEntry__Output | null);
  'payload_json': (Buffer);
  'salt': (string);
  'payload_erased': (boolean);
  'payload_withheld': (boolean);
  'erased_by_seq': (number);
}
