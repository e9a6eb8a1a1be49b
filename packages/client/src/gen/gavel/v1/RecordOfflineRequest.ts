// Original file: proto/gavel/v1/audit.proto

import type { OfflineMode as _gavel_v1_OfflineMode, OfflineMode__Output as _gavel_v1_OfflineMode__Output } from '../../gavel/v1/OfflineMode.js';
import type { Decision as _gavel_v1_Decision, Decision__Output as _gavel_v1_Decision__Output } from '../../gavel/v1/Decision.js';
import type { Reason as _gavel_v1_Reason, Reason__Output as _gavel_v1_Reason__Output } from '../../gavel/v1/Reason.js';
import type { PolicyVersion as _gavel_v1_PolicyVersion, PolicyVersion__Output as _gavel_v1_PolicyVersion__Output } from '../../gavel/v1/PolicyVersion.js';

export interface RecordOfflineRequest {
  'offline_id'?: (string);
  'decided_at'?: (string);
  'mode'?: (_gavel_v1_OfflineMode);
  'decision'?: (_gavel_v1_Decision);
  'reasons'?: (_gavel_v1_Reason)[];
  'input_json'?: (Buffer | Uint8Array | string);
  'request_id'?: (string);
  'policy'?: (string);
  'policy_version'?: (_gavel_v1_PolicyVersion | null);
  'cause'?: (string);
}

export interface RecordOfflineRequest__Output {
  'offline_id': (string);
  'decided_at': (string);
  'mode': (_gavel_v1_OfflineMode__Output);
  'decision': (_gavel_v1_Decision__Output);
  'reasons': (_gavel_v1_Reason__Output)[];
  'input_json': (Buffer);
  'request_id': (string);
  'policy': (string);
  'policy_version': (_gavel_v1_PolicyVersion__Output | null);
  'cause': (string);
}
