// Original file: proto/gavel/v1/decision.proto


export interface PolicyVersion {
  'bundle'?: (string);
  'revision'?: (string);
  'digest'?: (string);
}

export interface PolicyVersion__Output {
  'bundle': (string);
  'revision': (string);
  'digest': (string);
}
