import { InvalidArgumentError, type Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { errorMessage, GavelError } from '../lib/errors.js';
import { parseTime } from '../ledger/query.js';
import { MAX_WORKERS } from '../engine/config.js';

export function intOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function nonNegativeIntOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer of 0 or more');
  return n;
}

/** A worker count from text: 0 (evaluate on the I/O thread) up to MAX_WORKERS; undefined when it is not one. */
export function workerCount(text: string): number | undefined {
  const n = Number(text);
  return text.trim() !== '' && Number.isInteger(n) && n >= 0 && n <= MAX_WORKERS ? n : undefined;
}

export const WORKERS_RANGE = `an integer from 0 to ${MAX_WORKERS}`;

export function workersOption(value: string): number {
  const n = workerCount(value);
  if (n === undefined) throw new InvalidArgumentError(`must be ${WORKERS_RANGE}`);
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

/** A flag checked as it is parsed, so a bad value is a usage error (exit 2) like any bad flag; the text itself is kept. */
export function checkedOption(parse: (text: string) => unknown): (text: string) => string {
  return (text) => {
    try {
      parse(text);
    } catch (err) {
      throw new InvalidArgumentError(errorMessage(err));
    }
    return text;
  };
}

/** --since and --until, each an RFC 3339 time or a duration back from now, checked as they are parsed. */
export function timeRangeOptions(c: Command): Command {
  return c
    .option(
      '--since <time>',
      'RFC 3339 or a duration back from now (24h, 7d)',
      checkedOption((t) => parseTime(t, new Date(), 'since')),
    )
    .option(
      '--until <time>',
      'before this time (RFC 3339 or a duration back from now)',
      checkedOption((t) => parseTime(t, new Date(), 'until')),
    );
}

/** Commander's collector for a repeatable flag: every value, in the order given. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A key given as its text or as a file holding it (`--peer-key`, `--witness-key`, `--pubkey`, `--log-key`): the text, trimmed. */
export function textOrFile(value: string, flag: string): string {
  if (!existsSync(value)) return value.trim();
  try {
    return readFileSync(value, 'utf8').trim();
  } catch (err) {
    throw new GavelError('config_invalid', `${flag} ${value} could not be read: ${(err as Error).message}`);
  }
}
