// Original file: proto/gavel/v1/decision.proto


export interface Redaction {
  'path'?: (string);
  'kind'?: (string);
}

export interface Redaction__Output {
  'path': (string);
  'kind': (string);
}
