// Original file: proto/gavel/v1/approval.proto


export interface GetApprovalRequest {
  'approval_id'?: (string);
}

export interface GetApprovalRequest__Output {
  'approval_id': (string);
}
