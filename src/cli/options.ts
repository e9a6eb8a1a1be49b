import { InvalidArgumentError } from 'commander';

export function intOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** A worker count: 0 (evaluate on the I/O thread) up to 64. */
export function workersOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new InvalidArgumentError('must be an integer from 0 to 64');
  return n;
}

export function limitOption(max: number): (value: string) => number {
  return (value) => {
    const n = intOption(value);
    if (n > max) throw new InvalidArgumentError(`must be at most ${max}`);
    return n;
  };
}

export function timeOption(value: string): string {
  if (Number.isNaN(Date.parse(value))) throw new InvalidArgumentError('must be an RFC 3339 time, e.g. 2026-01-05T09:00:00Z');
  return value;
}

export function addressOption(value: string): string {
  if (!/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(value)) throw new InvalidArgumentError('must be host:port, e.g. 127.0.0.1:50051');
  return value;
}
