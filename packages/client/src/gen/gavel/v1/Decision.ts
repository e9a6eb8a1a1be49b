// Original file: proto/gavel/v1/decision.proto

export const Decision = {
  DECISION_UNSPECIFIED: 'DECISION_UNSPECIFIED',
  DECISION_ALLOW: 'DECISION_ALLOW',
  DECISION_DENY: 'DECISION_DENY',
  DECISION_REQUIRE_APPROVAL: 'DECISION_REQUIRE_APPROVAL',
  DECISION_REDACT: 'DECISION_REDACT',
} as const;

export type Decision =
  | 'DECISION_UNSPECIFIED'
  | 0
  | 'DECISION_ALLOW'
  | 1
  | 'DECISION_DENY'
  | 2
  | 'DECISION_REQUIRE_APPROVAL'
  | 3
  | 'DECISION_REDACT'
  | 4

export type Decision__Output = typeof Decision[keyof typeof Decision]
