// Original file: proto/gavel/v1/usage.proto

import type { Long } from '@grpc/proto-loader';

export interface ReportRequest {
  'decision_id'?: (string);
  'subject'?: (string);
  'team'?: (string);
  'cost_center'?: (string);
  'model'?: (string);
  'input_tokens'?: (number | string | Long);
  'output_tokens'?: (number | string | Long);
  'cost'?: (string);
}

export interface ReportRequest__Output {
  'decision_id': (string);
  'subject': (string);
  'team': (string);
  'cost_center': (string);
  'model': (string);
  'input_tokens': (number);
  'output_tokens': (number);
  'cost': (string);
}
