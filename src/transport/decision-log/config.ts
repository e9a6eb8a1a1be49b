import { GavelError } from '../../lib/errors.js';

/** `--decision-log-*`: where entries are pushed, in what batches, how retries back off. */
export interface DecisionLogConfig {
  /** The collector's endpoint; each batch is one POST of a gzipped JSON array. */
  url: string;
  /** The acknowledged seq is kept here (written atomically after each accepted batch). */
  cursorFile: string;
  /** Entries per POST at most. */
  batchEntries: number;
  /** How often the ledger is read for new entries while caught up. */
  pollMs: number;
  /** A POST that has not answered by then is abandoned and retried. */
  timeoutMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
}

export const DECISION_LOG_DEFAULTS = { batchEntries: 500, pollMs: 1000, timeoutMs: 10_000, minBackoffMs: 250, maxBackoffMs: 60_000 };

export function decisionLogConfig(o: Partial<DecisionLogConfig> & { url: string; cursorFile: string }): DecisionLogConfig {
  const c = { ...DECISION_LOG_DEFAULTS, ...o };
  let url: URL;
  try {
    url = new URL(c.url);
  } catch {
    throw new GavelError('config_invalid', `--decision-log-url ${JSON.stringify(c.url)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new GavelError('config_invalid', '--decision-log-url must be http:// or https://');
  if (url.username || url.password) throw new GavelError('config_invalid', '--decision-log-url must not carry credentials in the URL');
  const bound = (key: keyof typeof DECISION_LOG_DEFAULTS, min: number, max: number) => {
    const v = c[key];
    if (!Number.isInteger(v) || v < min || v > max)
      throw new GavelError('config_invalid', `decision log ${key} must be an integer from ${min} to ${max}, got ${v}`);
  };
  bound('batchEntries', 1, 10_000);
  bound('pollMs', 10, 600_000);
  bound('timeoutMs', 100, 600_000);
  bound('minBackoffMs', 1, 600_000);
  bound('maxBackoffMs', c.minBackoffMs, 3_600_000);
  return c;
}
