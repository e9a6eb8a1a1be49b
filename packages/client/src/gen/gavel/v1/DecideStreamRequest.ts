// Original file: proto/gavel/v1/decision.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface DecideStreamRequest {
  'policy'?: (string);
  'input_json'?: (Buffer | Uint8Array | string);
  'input_struct'?: (_google_protobuf_Struct | null);
  'request_id'?: (string);
  'traceparent'?: (string);
  'input'?: "input_json"|"input_struct";
}

export interface DecideStreamRequest__Output {
  'policy': (string);
  'input_json'?: (Buffer);
  'input_struct'?: (_google_protobuf_Struct__Output | null);
  'request_id': (string);
  'traceparent': (string);
  'input'?: "input_json"|"input_struct";
}
