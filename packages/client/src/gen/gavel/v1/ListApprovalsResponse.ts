// Original file: proto/gavel/v1/approval.proto

import type { Approval as _gavel_v1_Approval, Approval__Output as _gavel_v1_Approval__Output } from '../../gavel/v1/Approval.js';

export interface ListApprovalsResponse {
  'approvals'?: (_gavel_v1_Approval)[];
}

export interface ListApprovalsResponse__Output {
  'approvals': (_gavel_v1_Approval__Output)[];
}
