// Original file: proto/gavel/v1/audit.proto

import type { Decision as _gavel_v1_Decision, Decision__Output as _gavel_v1_Decision__Output } from '../../gavel/v1/Decision.js';
import type { EntryKind as _gavel_v1_EntryKind, EntryKind__Output as _gavel_v1_EntryKind__Output } from '../../gavel/v1/EntryKind.js';

export interface QueryDecisionsRequest {
  'subject'?: (string);
  'team'?: (string);
  'action'?: (string);
  'decision'?: (string);
  'since'?: (string);
  'until'?: (string);
  'revision'?: (string);
  'decision_id'?: (string);
  'limit'?: (number);
  'ascending'?: (boolean);
  'kind'?: (string);
  'decision_enum'?: (_gavel_v1_Decision);
  'kind_enum'?: (_gavel_v1_EntryKind);
}

export interface QueryDecisionsRequest__Output {
  'subject': (string);
  'team': (string);
  'action': (string);
  'decision': (string);
  'since': (string);
  'until': (string);
  'revision': (string);
  'decision_id': (string);
  'limit': (number);
  'ascending': (boolean);
  'kind': (string);
  'decision_enum': (_gavel_v1_Decision__Output);
  'kind_enum': (_gavel_v1_EntryKind__Output);
}
