/**
 * Money is kept as integer micro-units (1e-6 of the currency) so that sums are
 * exact; it crosses the API as decimal strings and reaches policies as numbers.
 */
export const MICROS = 1_000_000;

const DECIMAL = /^(\d{1,12})(?:\.(\d{1,6}))?$/;

/** Parses a non-negative decimal string with at most 6 fraction digits; undefined when malformed. */
export function parseMicros(text: string): number | undefined {
  // Exactly digits, an optional point and at most 6 decimals: no spaces, signs or exponents, never rounded.
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const fraction = (m[2] ?? '').padEnd(6, '0');
  return Number(m[1]) * MICROS + Number(fraction);
}

export function formatMicros(micros: number): string {
  const whole = Math.floor(micros / MICROS);
  const fraction = String(micros % MICROS)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

export function microsToNumber(micros: number): number {
  return micros / MICROS;
}
