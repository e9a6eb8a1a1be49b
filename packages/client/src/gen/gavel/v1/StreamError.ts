// Original file: proto/gavel/v1/decision.proto


export interface StreamError {
  'code'?: (number);
  'error_code'?: (string);
  'message'?: (string);
}

export interface StreamError__Output {
  'code': (number);
  'error_code': (string);
  'message': (string);
}
