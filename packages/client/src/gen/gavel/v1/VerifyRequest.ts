// Original file: proto/gavel/v1/audit.proto


export interface VerifyRequest {
  'checkpoint'?: (string);
}

export interface VerifyRequest__Output {
  'checkpoint': (string);
}
