import { positiveInt, stripUndefined } from '../../lib/config.js';
import { GavelError } from '../../lib/errors.js';

export interface ApprovalsConfig {
  /** Who may approve when the policy names no one. */
  defaultApprovers: string[];
  /** Distinct approvals needed when the policy says nothing. */
  defaultMinApprovals: number;
  /** How long a request stays open when the policy says nothing. */
  defaultExpiresSeconds: number;
  /** The longest a policy may keep a request open (a longer expires_in is cut to this). */
  maxExpiresSeconds: number;
  /** How often pending and approved requests past their expiry are expired. */
  sweepSeconds: number;
}

export const APPROVALS_DEFAULTS: ApprovalsConfig = {
  defaultApprovers: ['role:approver'],
  defaultMinApprovals: 1,
  defaultExpiresSeconds: 4 * 3600,
  maxExpiresSeconds: 30 * 24 * 3600,
  sweepSeconds: 30,
};

/** More distinct approvers than this is a policy mistake, not a control. */
export const MAX_MIN_APPROVALS = 10;

export function approvalsConfig(overrides: Partial<ApprovalsConfig> = {}): ApprovalsConfig {
  const c = { ...APPROVALS_DEFAULTS, ...stripUndefined(overrides) };
  if (!Array.isArray(c.defaultApprovers) || c.defaultApprovers.length === 0 || !c.defaultApprovers.every((a) => typeof a === 'string' && a !== '')) {
    throw new GavelError('config_invalid', `config approvals.defaultApprovers must be a non-empty list of names, got ${JSON.stringify(c.defaultApprovers)}`);
  }
  positiveInt('approvals.defaultMinApprovals', c.defaultMinApprovals);
  if (c.defaultMinApprovals > MAX_MIN_APPROVALS) positiveInt(`approvals.defaultMinApprovals (at most ${MAX_MIN_APPROVALS})`, -1);
  positiveInt('approvals.defaultExpiresSeconds', c.defaultExpiresSeconds);
  positiveInt('approvals.maxExpiresSeconds', c.maxExpiresSeconds);
  positiveInt('approvals.sweepSeconds', c.sweepSeconds);
  if (c.defaultExpiresSeconds > c.maxExpiresSeconds) {
    throw new GavelError(
      'config_invalid',
      `config approvals.defaultExpiresSeconds (${c.defaultExpiresSeconds}) must not exceed approvals.maxExpiresSeconds (${c.maxExpiresSeconds})`,
    );
  }
  return c;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * A policy's `expires_in`: a duration such as "90s", "30m", "4h", "2d" (or a
 * number of seconds). Undefined for anything else, so the caller falls back to
 * the default instead of trusting a value it cannot read.
 */
export function parseExpiresIn(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{1,9})([smhd])$/.exec(value.trim());
  if (!m) return undefined;
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return seconds > 0 ? seconds : undefined;
}
