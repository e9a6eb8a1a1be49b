// Original file: proto/gavel/v1/approval.proto

export const Verdict = {
  VERDICT_UNSPECIFIED: 'VERDICT_UNSPECIFIED',
  VERDICT_APPROVE: 'VERDICT_APPROVE',
  VERDICT_REJECT: 'VERDICT_REJECT',
} as const;

export type Verdict =
  | 'VERDICT_UNSPECIFIED'
  | 0
  | 'VERDICT_APPROVE'
  | 1
  | 'VERDICT_REJECT'
  | 2

export type Verdict__Output = typeof Verdict[keyof typeof Verdict]
