// Original file: proto/gavel/v1/approval.proto

import type { Verdict as _gavel_v1_Verdict, Verdict__Output as _gavel_v1_Verdict__Output } from '../../gavel/v1/Verdict.js';
import type { Approver as _gavel_v1_Approver, Approver__Output as _gavel_v1_Approver__Output } from '../../gavel/v1/Approver.js';

export interface ResolveRequest {
  'approval_id'?: (string);
  'verdict'?: (_gavel_v1_Verdict);
  'approver'?: (_gavel_v1_Approver | null);
  'comment'?: (string);
}

export interface ResolveRequest__Output {
  'approval_id': (string);
  'verdict': (_gavel_v1_Verdict__Output);
  'approver': (_gavel_v1_Approver__Output | null);
  'comment': (string);
}
