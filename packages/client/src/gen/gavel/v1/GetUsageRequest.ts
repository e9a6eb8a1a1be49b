// Original file: proto/gavel/v1/usage.proto

import type { UsageScope as _gavel_v1_UsageScope, UsageScope__Output as _gavel_v1_UsageScope__Output } from '../../gavel/v1/UsageScope.js';

export interface GetUsageRequest {
  'scope'?: (string);
  'key'?: (string);
  'scope_enum'?: (_gavel_v1_UsageScope);
}

export interface GetUsageRequest__Output {
  'scope': (string);
  'key': (string);
  'scope_enum': (_gavel_v1_UsageScope__Output);
}
