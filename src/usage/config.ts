import { nonEmpty, positiveInt } from '../lib/config.js';
import { GavelError } from '../lib/errors.js';
import { stripUndefined } from '../lib/config.js';

export interface UsageConfig {
  /** IANA time zone that calendar windows (day, week from Monday, month) follow. */
  timeZone: string;
  /** Length of the rolling window, in minutes. */
  rollingMinutes: number;
  /** An unreported reservation stops counting after this many seconds. */
  reservationTtlSeconds: number;
  /** max_tokens assumed for a model call that states none. */
  defaultMaxTokens: number;
  /** Currency when the bundle's price table names none. */
  currency: string;
  /**
   * How far a report may stray from what its decision could have cost: a cost above
   * this many times the price table's price for the reported tokens, or input tokens
   * above this many times the decision's estimate (at least 4096), is refused.
   */
  reportFactor: number;
  /**
   * The embedded store's daily usage was kept in another time zone: re-bucket it in `timeZone`
   * (`--rebuild-usage-time-zone`). Without it such a start is refused, since days (and so budgets)
   * would silently shift. The shared store has no such switch: its replicas keep one zone.
   */
  rebuildTimeZone: boolean;
}

export const USAGE_DEFAULTS: UsageConfig = {
  timeZone: 'UTC',
  rollingMinutes: 60,
  reservationTtlSeconds: 600,
  defaultMaxTokens: 1024,
  currency: 'USD',
  reportFactor: 10,
  rebuildTimeZone: false,
};

export function usageConfig(overrides: Partial<UsageConfig> = {}): UsageConfig {
  const c = { ...USAGE_DEFAULTS, ...stripUndefined(overrides) };
  nonEmpty('usage.timeZone', c.timeZone);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: c.timeZone });
  } catch {
    throw new GavelError('config_invalid', `config usage.timeZone must be an IANA time zone such as UTC or Europe/Paris, got ${JSON.stringify(c.timeZone)}`);
  }
  positiveInt('usage.rollingMinutes', c.rollingMinutes);
  positiveInt('usage.reservationTtlSeconds', c.reservationTtlSeconds);
  positiveInt('usage.defaultMaxTokens', c.defaultMaxTokens);
  nonEmpty('usage.currency', c.currency);
  positiveInt('usage.reportFactor', c.reportFactor);
  if (typeof c.rebuildTimeZone !== 'boolean') {
    throw new GavelError('config_invalid', `config usage.rebuildTimeZone must be true or false, got ${JSON.stringify(c.rebuildTimeZone)}`);
  }
  return c;
}
