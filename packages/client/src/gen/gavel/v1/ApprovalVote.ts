// Original file: proto/gavel/v1/approval.proto

import type { Approver as _gavel_v1_Approver, Approver__Output as _gavel_v1_Approver__Output } from '../../gavel/v1/Approver.js';
import type { Verdict as _gavel_v1_Verdict, Verdict__Output as _gavel_v1_Verdict__Output } from '../../gavel/v1/Verdict.js';

export interface ApprovalVote {
  'approver'?: (_gavel_v1_Approver | null);
  'verdict'?: (string);
  'comment'?: (string);
  'at'?: (string);
  'caller'?: (string);
  'verdict_enum'?: (_gavel_v1_Verdict);
}

export interface ApprovalVote__Output {
  'approver': (_gavel_v1_Approver__Output | null);
  'verdict': (string);
  'comment': (string);
  'at': (string);
  'caller': (string);
  'verdict_enum': (_gavel_v1_Verdict__Output);
}
