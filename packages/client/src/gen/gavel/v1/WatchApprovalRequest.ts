// Original file: proto/gavel/v1/approval.proto


export interface WatchApprovalRequest {
  'approval_id'?: (string);
}

export interface WatchApprovalRequest__Output {
  'approval_id': (string);
}
