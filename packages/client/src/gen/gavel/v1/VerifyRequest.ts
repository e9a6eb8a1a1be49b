// Original file: proto/gavel/v1/audit.proto


export interface VerifyRequest {
  'checkpoint'?: (string);
  'witness_keys'?: (string)[];
  'min_witnesses'?: (number);
}

export interface VerifyRequest__Output {
  'checkpoint': (string);
  'witness_keys': (string)[];
  'min_witnesses': (number);
}
