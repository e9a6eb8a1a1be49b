// Original file: proto/gavel/v1/audit.proto

import type { Decision as _gavel_v1_Decision, Decision__Output as _gavel_v1_Decision__Output } from '../../gavel/v1/Decision.js';
import type { EntryKind as _gavel_v1_EntryKind, EntryKind__Output as _gavel_v1_EntryKind__Output } from '../../gavel/v1/EntryKind.js';
import type { Long } from '@grpc/proto-loader';

export interface LedgerEntry {
  'seq'?: (number | string | Long);
  'decision_id'?: (string);
  'time'?: (string);
  'subject_id'?: (string);
  'subject_type'?: (string);
  'team'?: (string);
  'cost_center'?: (string);
  'action_type'?: (string);
  'resource'?: (string);
  'decision'?: (string);
  'reason_codes'?: (string)[];
  'bundle'?: (string);
  'revision'?: (string);
  'digest'?: (string);
  'entrypoint'?: (string);
  'request_id'?: (string);
  'caller'?: (string);
  'payload_hash'?: (string);
  'prev_hash'?: (string);
  'entry_hash'?: (string);
  'kind'?: (string);
  'decision_enum'?: (_gavel_v1_Decision);
  'kind_enum'?: (_gavel_v1_EntryKind);
}

export interface LedgerEntry__Output {
  'seq': (number);
  'decision_id': (string);
  'time': (string);
  'subject_id': (string);
  'subject_type': (string);
  'team': (string);
  'cost_center': (string);
  'action_type': (string);
  'resource': (string);
  'decision': (string);
  'reason_codes': (string)[];
  'bundle': (string);
  'revision': (string);
  'digest': (string);
  'entrypoint': (string);
  'request_id': (string);
  'caller': (string);
  'payload_hash': (string);
  'prev_hash': (string);
  'entry_hash': (string);
  'kind': (string);
  'decision_enum': (_gavel_v1_Decision__Output);
  'kind_enum': (_gavel_v1_EntryKind__Output);
}
