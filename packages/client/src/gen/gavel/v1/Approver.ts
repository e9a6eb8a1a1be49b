// Original file: proto/gavel/v1/approval.proto


export interface Approver {
  'id'?: (string);
  'roles'?: (string)[];
}

export interface Approver__Output {
  'id': (string);
  'roles': (string)[];
}
