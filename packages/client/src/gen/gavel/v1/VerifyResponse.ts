// Original file: proto/gavel/v1/audit.proto

import type { StateMismatch as _gavel_v1_StateMismatch, StateMismatch__Output as _gavel_v1_StateMismatch__Output } from '../../gavel/v1/StateMismatch.js';
import type { Long } from '@grpc/proto-loader';

export interface VerifyResponse {
  'ok'?: (boolean);
  'entries'?: (number | string | Long);
  'head_hash'?: (string);
  'checkpoints_checked'?: (number);
  'failed_seq'?: (number | string | Long);
  'failure_kind'?: (string);
  'message'?: (string);
  'payloads_erased'?: (number | string | Long);
  'state_mismatches'?: (_gavel_v1_StateMismatch)[];
  'tree_checked'?: (boolean);
  'witnessed_size'?: (number | string | Long);
  'witnessed_by'?: (string)[];
  'erasure_seqs'?: (number | string | Long)[];
}

export interface VerifyResponse__Output {
  'ok': (boolean);
  'entries': (number);
  'head_hash': (string);
  'checkpoints_checked': (number);
  'failed_seq': (number);
  'failure_kind': (string);
  'message': (string);
  'payloads_erased': (number);
  'state_mismatches': (_gavel_v1_StateMismatch__Output)[];
  'tree_checked': (boolean);
  'witnessed_size': (number);
  'witnessed_by': (string)[];
  'erasure_seqs': (number)[];
}
