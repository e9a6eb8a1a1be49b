import { GavelError } from './errors.js';

/**
 * Helpers each module uses to own its config: defaults merged with overrides,
 * then validated, failing at start-up with a message naming the key.
 */
export function positiveInt(key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new GavelError('config_invalid', `config ${key} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function nonNegativeInt(key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new GavelError('config_invalid', `config ${key} must be an integer of 0 or more, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function positiveNumber(key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new GavelError('config_invalid', `config ${key} must be a positive number, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new GavelError('config_invalid', `config ${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function nonEmpty(key: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new GavelError('config_invalid', `config ${key} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Parses an integer from an environment variable or flag; undefined stays undefined. */
export function intFrom(key: string, text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new GavelError('config_invalid', `config ${key} must be an integer, got ${JSON.stringify(text)}`);
  return n;
}

/** Drops keys whose value is undefined, so `{...defaults, ...stripUndefined(overrides)}` keeps the defaults. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
