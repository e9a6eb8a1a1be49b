// Original file: proto/gavel/v1/audit.proto


export interface GetDecisionRequest {
  'decision_id'?: (string);
}

export interface GetDecisionRequest__Output {
  'decision_id': (string);
}
