// Original file: proto/gavel/v1/audit.proto

import type { MismatchProblem as _gavel_v1_MismatchProblem, MismatchProblem__Output as _gavel_v1_MismatchProblem__Output } from '../../gavel/v1/MismatchProblem.js';

export interface StateMismatch {
  'table'?: (string);
  'key'?: (string);
  'problem'?: (string);
  'problem_enum'?: (_gavel_v1_MismatchProblem);
}

export interface StateMismatch__Output {
  'table': (string);
  'key': (string);
  'problem': (string);
  'problem_enum': (_gavel_v1_MismatchProblem__Output);
}
