// Original file: proto/gavel/v1/usage.proto

export const UsageScope = {
  USAGE_SCOPE_UNSPECIFIED: 'USAGE_SCOPE_UNSPECIFIED',
  USAGE_SCOPE_SUBJECT: 'USAGE_SCOPE_SUBJECT',
  USAGE_SCOPE_TEAM: 'USAGE_SCOPE_TEAM',
  USAGE_SCOPE_COST_CENTER: 'USAGE_SCOPE_COST_CENTER',
} as const;

export type UsageScope =
  | 'USAGE_SCOPE_UNSPECIFIED'
  | 0
  | 'USAGE_SCOPE_SUBJECT'
  | 1
  | 'USAGE_SCOPE_TEAM'
  | 2
  | 'USAGE_SCOPE_COST_CENTER'
  | 3

export type UsageScope__Output = typeof UsageScope[keyof typeof UsageScope]
