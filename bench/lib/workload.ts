import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isJsonObject, type JsonObject } from '../../src/engine/json.js';
import { ROOT } from './paths.js';

/** The main input: an employee invoking standard-m with a one-line prompt, which the policy allows. */
export const MAIN_SAMPLE = 'policies/ai/samples/employee-standard-allowed.json';
export const ENTRYPOINT = 'gavel/ai/decision';

/**
 * How many distinct subjects (and teams) the load spreads over. With usage
 * metering on, every allowed call reserves ~530 tokens against its subject's
 * weekly budget (5M) and its team's (100M); one subject would be denied after
 * ~9,500 calls, which a 10 s run exceeds, and the benchmark would quietly turn
 * into a "budget exhausted" benchmark. 1024 subjects x 64 teams keep every
 * budget far from its limit for runs of many minutes.
 */
const SUBJECTS = 1024;
const TEAMS = 64;

export interface Workload {
  /** The sample's name, for the report. */
  name: string;
  entrypoint: string;
  /** The decision every variant must get. */
  expect: string;
  /** Same input, differing only in subject.id and subject.team (fixed width, so every body has one size). */
  inputs: JsonObject[];
  /** The same variants as UTF-8 JSON, ready for input_json or an HTTP body. */
  json: Buffer[];
}

export function loadWorkload(sample = MAIN_SAMPLE): Workload {
  const parsed: unknown = JSON.parse(readFileSync(join(ROOT, sample), 'utf8'));
  if (!isJsonObject(parsed) || typeof parsed.name !== 'string' || !isJsonObject(parsed.input) || !isJsonObject(parsed.expect)) {
    throw new Error(`${sample}: expected {"name", "input", "expect"}`);
  }
  const expect = parsed.expect.decision;
  const subject = parsed.input.subject;
  if (typeof expect !== 'string' || !isJsonObject(subject) || typeof subject.id !== 'string' || typeof subject.team !== 'string') {
    throw new Error(`${sample}: expect.decision, input.subject.id and input.subject.team must be strings`);
  }
  const inputs: JsonObject[] = [];
  for (let i = 0; i < SUBJECTS; i++) {
    const variant = structuredClone(parsed.input);
    variant.subject = { ...subject, id: `${subject.id}-${pad(i, 4)}`, team: `${subject.team}-${pad(i % TEAMS, 2)}` };
    inputs.push(variant);
  }
  return { name: parsed.name, entrypoint: ENTRYPOINT, expect, inputs, json: inputs.map((v) => Buffer.from(JSON.stringify(v))) };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
