// Original file: proto/gavel/v1/approval.proto

import type { ApprovalState as _gavel_v1_ApprovalState, ApprovalState__Output as _gavel_v1_ApprovalState__Output } from '../../gavel/v1/ApprovalState.js';

export interface ListApprovalsRequest {
  'state'?: (string);
  'approver_role'?: (string);
  'subject'?: (string);
  'team'?: (string);
  'limit'?: (number);
  'state_enum'?: (_gavel_v1_ApprovalState);
}

export interface ListApprovalsRequest__Output {
  'state': (string);
  'approver_role': (string);
  'subject': (string);
  'team': (string);
  'limit': (number);
  'state_enum': (_gavel_v1_ApprovalState__Output);
}
