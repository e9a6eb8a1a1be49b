import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isJsonObject, type JsonObject } from '../../src/lib/json.js';
import { ROOT } from './paths.js';

/** The main input: an employee invoking standard-m with a one-line prompt, which the policy allows. */
export const MAIN_SAMPLE = 'policies/ai/samples/employee-standard-allowed.json';
export const ENTRYPOINT = 'gavel/ai/decision';

/**
 * How many distinct subjects, teams and cost centers the load spreads over.
 *
 * Budgets: with metering on, every allowed call reserves ~530 tokens against
 * its subject's weekly budget (5M) and its team's (100M); one subject would be
 * denied after ~9,500 calls, which a 10 s run exceeds, and the benchmark would
 * quietly turn into a "budget exhausted" benchmark.
 *
 * History: metering sums this month's charges of the subject, team and cost
 * center, and each decision adds one. With a single cost center the rows of a
 * run would measure a store that grows during the window (the later a call, the
 * slower). Spreading over 64 cost centers keeps each scope's history small, so
 * the main rows measure metering at a defined, near-empty state; the cost of a
 * month of history is measured separately, on purpose (engine.ts).
 */
const SUBJECTS = 1024;
const TEAMS = 64;
const COST_CENTERS = 64;

export interface WorkloadOptions {
  /** Distinct cost centers (default 64); 1 puts every call on the sample's own cost center. */
  costCenters?: number;
  /** Distinct teams (default 64): 1 puts every call on one team's budgets, as one team's gateway would. */
  teams?: number;
  /** Distinct subjects (default 1024); a subject keeps one team and cost center. */
  subjects?: number;
  /**
   * The calls' action.params.max_tokens instead of the sample's: fewer subjects than the default
   * reach a subject's weekly token budget within a window unless each call reserves less.
   */
  maxTokens?: number;
}

export interface Workload {
  /** The sample's name, for the report. */
  name: string;
  entrypoint: string;
  /** The decision every variant must get. */
  expect: string;
  /** Same input, differing only in subject.id, .team and .cost_center (fixed width, so every body has one size). */
  inputs: JsonObject[];
  /** The same variants as UTF-8 JSON, ready for input_json or an HTTP body. */
  json: Buffer[];
}

export function loadWorkload(
  { costCenters = COST_CENTERS, teams = TEAMS, subjects = SUBJECTS, maxTokens }: WorkloadOptions = {},
  sample = MAIN_SAMPLE,
): Workload {
  const parsed: unknown = JSON.parse(readFileSync(join(ROOT, sample), 'utf8'));
  if (!isJsonObject(parsed) || typeof parsed.name !== 'string' || !isJsonObject(parsed.input) || !isJsonObject(parsed.expect)) {
    throw new Error(`${sample}: expected {"name", "input", "expect"}`);
  }
  const expect = parsed.expect.decision;
  const subject = parsed.input.subject;
  if (
    typeof expect !== 'string' ||
    !isJsonObject(subject) ||
    typeof subject.id !== 'string' ||
    typeof subject.team !== 'string' ||
    typeof subject.cost_center !== 'string'
  ) {
    throw new Error(`${sample}: expect.decision and input.subject.id, .team, .cost_center must be strings`);
  }
  const inputs: JsonObject[] = [];
  for (let i = 0; i < SUBJECTS; i++) {
    const variant = structuredClone(parsed.input);
    const who = i % subjects;
    variant.subject = {
      ...subject,
      id: `${subject.id}-${pad(who, 4)}`,
      team: `${subject.team}-${pad(who % teams, 2)}`,
      cost_center: costCenters === 1 ? subject.cost_center : `${subject.cost_center}-${pad(who % costCenters, 2)}`,
    };
    if (maxTokens !== undefined) {
      const action = variant.action;
      if (!isJsonObject(action) || !isJsonObject(action.params)) throw new Error(`${sample}: maxTokens needs input.action.params`);
      action.params = { ...action.params, max_tokens: maxTokens };
    }
    inputs.push(variant);
  }
  return { name: parsed.name, entrypoint: ENTRYPOINT, expect, inputs, json: inputs.map((v) => Buffer.from(JSON.stringify(v))) };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * The workload as ghz's --data-file for Decide: one message per input, each call its own request id
 * (`<prefix>-<i>-<uuid>`), so idempotent Decide decides every call.
 */
export function ghzDecideData(w: Workload, prefix: string): string {
  return JSON.stringify(w.json.map((bytes, i) => ({ policy: w.entrypoint, request_id: `${prefix}-${i}-{{.UUID}}`, input_json: bytes.toString('base64') })));
}
