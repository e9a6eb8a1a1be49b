// Original file: proto/gavel/v1/decision.proto

import type { Decision as _gavel_v1_Decision, Decision__Output as _gavel_v1_Decision__Output } from '../../gavel/v1/Decision.js';
import type { Reason as _gavel_v1_Reason, Reason__Output as _gavel_v1_Reason__Output } from '../../gavel/v1/Reason.js';
import type { Redaction as _gavel_v1_Redaction, Redaction__Output as _gavel_v1_Redaction__Output } from '../../gavel/v1/Redaction.js';
import type { PolicyVersion as _gavel_v1_PolicyVersion, PolicyVersion__Output as _gavel_v1_PolicyVersion__Output } from '../../gavel/v1/PolicyVersion.js';
import type { LedgerReceipt as _gavel_v1_LedgerReceipt, LedgerReceipt__Output as _gavel_v1_LedgerReceipt__Output } from '../../gavel/v1/LedgerReceipt.js';
import type { DecisionApproval as _gavel_v1_DecisionApproval, DecisionApproval__Output as _gavel_v1_DecisionApproval__Output } from '../../gavel/v1/DecisionApproval.js';

export interface DecideResponse {
  'decision_id'?: (string);
  'decision'?: (_gavel_v1_Decision);
  'reasons'?: (_gavel_v1_Reason)[];
  'redacted_input_json'?: (Buffer | Uint8Array | string);
  'redactions'?: (_gavel_v1_Redaction)[];
  'obligations_json'?: (Buffer | Uint8Array | string);
  'policy'?: (_gavel_v1_PolicyVersion | null);
  'receipt'?: (_gavel_v1_LedgerReceipt | null);
  'request_id'?: (string);
  'entrypoint'?: (string);
  'evaluated_at'?: (string);
  'approval'?: (_gavel_v1_DecisionApproval | null);
  'replayed'?: (boolean);
}

export interface DecideResponse__Output {
  'decision_id': (string);
  'decision': (_gavel_v1_Decision__Output);
  'reasons': (_gavel_v1_Reason__Output)[];
  'redacted_input_json': (Buffer);
  'redactions': (_gavel_v1_Redaction__Output)[];
  'obligations_json': (Buffer);
  'policy': (_gavel_v1_PolicyVersion__Output | null);
  'receipt': (_gavel_v1_LedgerReceipt__Output | null);
  'request_id': (string);
  'entrypoint': (string);
  'evaluated_at': (string);
  'approval': (_gavel_v1_DecisionApproval__Output | null);
  'replayed': (boolean);
}
