// Original file: proto/gavel/v1/decision.proto

import type { DecideResponse as _gavel_v1_DecideResponse, DecideResponse__Output as _gavel_v1_DecideResponse__Output } from '../../gavel/v1/DecideResponse.js';
import type { StreamError as _gavel_v1_StreamError, StreamError__Output as _gavel_v1_StreamError__Output } from '../../gavel/v1/StreamError.js';

export interface DecideStreamResponse {
  'request_id'?: (string);
  'decision'?: (_gavel_v1_DecideResponse | null);
  'error'?: (_gavel_v1_StreamError | null);
  'result'?: "decision"|"error";
}

export interface DecideStreamResponse__Output {
  'request_id': (string);
  'decision'?: (_gavel_v1_DecideResponse__Output | null);
  'error'?: (_gavel_v1_StreamError__Output | null);
  'result'?: "decision"|"error";
}
