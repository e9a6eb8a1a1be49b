import { readFileSync } from 'node:fs';
import type { Command, Option } from 'commander';
import { isMap, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import { errorMessage } from '../lib/errors.js';
import { EXIT } from './exit.js';

/**
 * `gavel serve --config FILE`: a YAML mapping whose keys are the flags without `--` (`listen`,
 * `bundle-url`; `metering: false` for `--no-metering`). Each value goes through the parser of its
 * flag, so a file says nothing a command line could not. Read all or nothing: every problem is
 * reported, naming its key and line, and one problem refuses the whole file.
 *
 * Precedence: a flag, then its env variable (GAVEL_*), then the file, then the default. Env
 * variables reach commander as defaults, so "set by env" is read from the variable itself: the
 * one named in the flag's help text as `(env GAVEL_…)`.
 */

/** Asked for on purpose, once: a file read at every start would repeat them silently. */
const COMMAND_LINE_ONLY: Record<string, string> = {
  'new-ledger': 'starts a fresh ledger next to an existing key; give --new-ledger on the command line, once',
  'rebuild-state': 'rewrites the state tables from the chain; give --rebuild-state on the command line, once',
  'rebuild-usage-time-zone': 're-buckets usage into another time zone; give --rebuild-usage-time-zone on the command line, once',
  config: 'a config file cannot name another',
};

export interface ConfigProblem {
  /** The key the problem is about; absent when the file as a whole is (unreadable, not YAML, not a mapping). */
  key?: string;
  line?: number;
  message: string;
}

interface ConfigValue {
  option: Option;
  value: unknown;
}

export interface ConfigFile {
  values: ConfigValue[];
  problems: ConfigProblem[];
}

/** The key of a flag in the file: its long name without `--`, and `metering` for `--no-metering`. */
export function configKey(option: Option): string {
  const name = option.name();
  return option.negate ? name.slice('no-'.length) : name;
}

/** The env variable a flag reads, as its help text names it. */
export function envOf(option: Option): string | undefined {
  return /\benv (GAVEL_[A-Z0-9_]+)/.exec(option.description)?.[1];
}

/** One problem as a line: `FILE:LINE: KEY: message`. */
export function describeProblem(file: string, p: ConfigProblem): string {
  return `${file}${p.line ? `:${p.line}` : ''}: ${p.key ? `${p.key}: ` : ''}${p.message}`;
}

/** Reads and checks `file` against `command`'s options (the `gavel serve` command). */
export function readConfigFile(file: string, command: Command): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { values: [], problems: [{ message: `cannot be read: ${errorMessage(err)}` }] };
  }
  return checkConfigText(text, command);
}

export function checkConfigText(text: string, command: Command): ConfigFile {
  const lines = new LineCounter();
  // Duplicate keys are found below, so that the problem names the key.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  const lineOf = (node: unknown) => {
    const range = (node as Node | null)?.range;
    return range ? lines.linePos(range[0]).line : undefined;
  };
  const whole = (message: string, line?: number): ConfigFile => ({ values: [], problems: [{ ...(line ? { line } : {}), message }] });
  const [error] = doc.errors;
  if (error) return whole(`is not valid YAML: ${error.message.split('\n')[0]}`, lines.linePos(error.pos[0]).line);
  if (doc.contents === null) return { values: [], problems: [] };
  if (!isMap(doc.contents)) return whole('must be a mapping of flag names to values', lineOf(doc.contents));
  const options = new Map(command.options.map((o) => [configKey(o), o]));
  const result: ConfigFile = { values: [], problems: [] };
  const seen = new Map<string, number | undefined>();
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const line = lineOf(pair.key);
    const entry = seen.has(key)
      ? { problem: `appears twice (first on line ${seen.get(key)})` }
      : checkEntry(key, options, () => (pair.value as Node | null)?.toJS(doc));
    seen.set(key, seen.get(key) ?? line);
    if ('problem' in entry) result.problems.push({ key, ...(line ? { line } : {}), message: entry.problem });
    else result.values.push(entry);
  }
  return result;
}

function checkEntry(key: string, options: Map<string, Option>, value: () => unknown): ConfigValue | { problem: string } {
  if (Object.hasOwn(COMMAND_LINE_ONLY, key)) return { problem: COMMAND_LINE_ONLY[key]! };
  const option = options.get(key);
  if (!option) return { problem: unknownKey(key, [...options.keys()]) };
  const parsed = parseValue(option, value());
  return 'problem' in parsed ? parsed : { option, value: parsed.value };
}

type Parsed = { value: unknown } | { problem: string };

/** A value from the file, through the flag's own parser. */
function parseValue(option: Option, value: unknown): Parsed {
  if (value === null || value === undefined) return { problem: 'has no value' };
  if (option.negate || option.isBoolean()) {
    return typeof value === 'boolean' ? { value } : { problem: `must be true or false, not ${JSON.stringify(value)}` };
  }
  if (!Array.isArray(value)) return parseOne(option, value, Array.isArray(option.defaultValue) ? [] : undefined);
  if (value.length === 0) return Array.isArray(option.defaultValue) ? { value: [] } : { problem: 'is an empty list' };
  let previous: unknown = Array.isArray(option.defaultValue) ? [] : undefined;
  for (const item of value) {
    const one = parseOne(option, item, previous);
    if ('problem' in one) return one;
    if (!Array.isArray(one.value)) return { problem: `takes one value, not a list (--${option.name()} is not repeatable)` };
    previous = one.value;
  }
  return { value: previous };
}

function parseOne(option: Option, value: unknown, previous: unknown): Parsed {
  if (typeof value !== 'string' && typeof value !== 'number') {
    return { problem: `takes ${option.flags.split(' ').slice(1).join(' ')}, not ${describeType(value)}` };
  }
  const text = String(value);
  if (!option.parseArg) return { value: text };
  try {
    return { value: option.parseArg(text, previous) };
  } catch (err) {
    // The message the flag gives for the same text (`--workers 999`: "must be an integer from 0 to …").
    return { problem: `${JSON.stringify(text)} is invalid: ${errorMessage(err)}` };
  }
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** "is not a flag of gavel serve", with the nearest key when one is close. */
function unknownKey(key: string, known: string[]): string {
  const plain = key
    .replace(/^-+/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
  if (plain.startsWith('no-') && known.includes(plain.slice(3))) return `is not a flag of gavel serve (did you mean ${plain.slice(3)}: false?)`;
  const near = known.map((k) => ({ k, d: distance(plain, k) })).sort((a, b) => a.d - b.d)[0];
  const hint = near && (near.d === 0 || near.d <= Math.max(1, Math.floor(plain.length / 4))) ? ` (did you mean ${near.k}?)` : '';
  return `is not a flag of gavel serve${hint}`;
}

/** Levenshtein distance; keys are short. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** Set on the command line, or by its env variable: the file does not override it. */
function setOutsideFile(command: Command, option: Option): boolean {
  const source = command.getOptionValueSource(option.attributeName());
  if (source !== undefined && source !== 'default') return true;
  const env = envOf(option);
  return env !== undefined && (process.env[env] ?? '') !== '';
}

/**
 * The `preAction` hook of `gavel serve`: with `--config` (or GAVEL_CONFIG), the file's values
 * fill every flag given neither on the command line nor by env; a bad file exits 2 naming each key.
 */
export function applyConfigFile(command: Command): void {
  const file = command.getOptionValue('config') as string | undefined;
  if (!file) return;
  const { values, problems } = readConfigFile(file, command);
  if (problems.length > 0) {
    command.error(problems.map((p) => `error: ${describeProblem(file, p)}`).join('\n'), { exitCode: EXIT.usage, code: 'gavel.configInvalid' });
  }
  for (const { option, value } of values) {
    if (!setOutsideFile(command, option)) command.setOptionValueWithSource(option.attributeName(), value, 'config');
  }
}
