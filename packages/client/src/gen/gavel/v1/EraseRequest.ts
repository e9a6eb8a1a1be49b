// Original file: proto/gavel/v1/audit.proto


export interface EraseRequest {
  'subject_id'?: (string);
  'decision_id'?: (string);
  'before'?: (string);
  'reason'?: (string);
  'basis'?: (string);
}

export interface EraseRequest__Output {
  'subject_id': (string);
  'decision_id': (string);
  'before': (string);
  'reason': (string);
  'basis': (string);
}
