// Original file: proto/gavel/v1/audit.proto

export const MismatchProblem = {
  MISMATCH_PROBLEM_UNSPECIFIED: 'MISMATCH_PROBLEM_UNSPECIFIED',
  MISMATCH_PROBLEM_MISSING: 'MISMATCH_PROBLEM_MISSING',
  MISMATCH_PROBLEM_UNRECORDED: 'MISMATCH_PROBLEM_UNRECORDED',
  MISMATCH_PROBLEM_CHANGED: 'MISMATCH_PROBLEM_CHANGED',
} as const;

export type MismatchProblem =
  | 'MISMATCH_PROBLEM_UNSPECIFIED'
  | 0
  | 'MISMATCH_PROBLEM_MISSING'
  | 1
  | 'MISMATCH_PROBLEM_UNRECORDED'
  | 2
  | 'MISMATCH_PROBLEM_CHANGED'
  | 3

export type MismatchProblem__Output = typeof MismatchProblem[keyof typeof MismatchProblem]
