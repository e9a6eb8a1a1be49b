// Original file: proto/gavel/v1/approval.proto

import type { PolicyVersion as _gavel_v1_PolicyVersion, PolicyVersion__Output as _gavel_v1_PolicyVersion__Output } from '../../gavel/v1/PolicyVersion.js';
import type { ApprovalVote as _gavel_v1_ApprovalVote, ApprovalVote__Output as _gavel_v1_ApprovalVote__Output } from '../../gavel/v1/ApprovalVote.js';
import type { ApprovalState as _gavel_v1_ApprovalState, ApprovalState__Output as _gavel_v1_ApprovalState__Output } from '../../gavel/v1/ApprovalState.js';

export interface Approval {
  'approval_id'?: (string);
  'state'?: (string);
  'subject_id'?: (string);
  'subject_type'?: (string);
  'on_behalf_of'?: (string);
  'team'?: (string);
  'cost_center'?: (string);
  'action_type'?: (string);
  'resource'?: (string);
  'params_json'?: (Buffer | Uint8Array | string);
  'fingerprint'?: (string);
  'approvers'?: (string)[];
  'min_approvals'?: (number);
  'created_at'?: (string);
  'expires_at'?: (string);
  'resolved_at'?: (string);
  'requested_by'?: (string);
  'consumed_by'?: (string);
  'caller'?: (string);
  'policy'?: (_gavel_v1_PolicyVersion | null);
  'votes'?: (_gavel_v1_ApprovalVote)[];
  'payload_withheld'?: (boolean);
  'state_enum'?: (_gavel_v1_ApprovalState);
}

export interface Approval__Output {
  'approval_id': (string);
  'state': (string);
  'subject_id': (string);
  'subject_type': (string);
  'on_behalf_of': (string);
  'team': (string);
  'cost_center': (string);
  'action_type': (string);
  'resource': (string);
  'params_json': (Buffer);
  'fingerprint': (string);
  'approvers': (string)[];
  'min_approvals': (number);
  'created_at': (string);
  'expires_at': (string);
  'resolved_at': (string);
  'requested_by': (string);
  'consumed_by': (string);
  'caller': (string);
  'policy': (_gavel_v1_PolicyVersion__Output | null);
  'votes': (_gavel_v1_ApprovalVote__Output)[];
  'payload_withheld': (boolean);
  'state_enum': (_gavel_v1_ApprovalState__Output);
}
