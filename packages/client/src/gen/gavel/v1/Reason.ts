// Original file: proto/gavel/v1/decision.proto

import type { Decision as _gavel_v1_Decision, Decision__Output as _gavel_v1_Decision__Output } from '../../gavel/v1/Decision.js';

export interface Reason {
  'code'?: (string);
  'message'?: (string);
  'rule'?: (string);
  'effect'?: (string);
  'effect_enum'?: (_gavel_v1_Decision);
}

export interface Reason__Output {
  'code': (string);
  'message': (string);
  'rule': (string);
  'effect': (string);
  'effect_enum': (_gavel_v1_Decision__Output);
}
