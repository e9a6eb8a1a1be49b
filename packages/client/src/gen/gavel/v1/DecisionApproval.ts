// Original file: proto/gavel/v1/decision.proto

import type { ApprovalState as _gavel_v1_ApprovalState, ApprovalState__Output as _gavel_v1_ApprovalState__Output } from '../../gavel/v1/ApprovalState.js';

export interface DecisionApproval {
  'approval_id'?: (string);
  'expires_at'?: (string);
  'approvers'?: (string)[];
  'state'?: (string);
  'min_approvals'?: (number);
  'state_enum'?: (_gavel_v1_ApprovalState);
}

export interface DecisionApproval__Output {
  'approval_id': (string);
  'expires_at': (string);
  'approvers': (string)[];
  'state': (string);
  'min_approvals': (number);
  'state_enum': (_gavel_v1_ApprovalState__Output);
}
