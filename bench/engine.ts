/**
 * gavel's engine in-process (no gRPC): Engine.decide with the JSON bytes a
 * client would send, so input parsing, context, evaluation, normalisation,
 * redaction, the ledger record and (when on) usage metering are all counted.
 *
 * Rows:
 *  - "path": startRuntime with a ':memory:' ledger and usage on, the step
 *    between the wasm floor and the gRPC service;
 *  - "toggles": ledger on/off x usage on/off, where "on" is the real
 *    SqliteLedger on a temp file (durability normal) and "off" is the
 *    bench-only NullLedger baseline; then the real configuration again with
 *    10k and 100k settled calls already in one cost center's month, because
 *    metering reads sums over that history on every decision.
 *
 *   npx tsx bench/engine.ts --seconds 5 --concurrency 32
 *   npx tsx bench/engine.ts --only toggles
 */
import { isJsonObject } from '../src/lib/json.js';
import { SqliteUsageStore } from '../src/usage/sqlite.js';
import { join } from 'node:path';
import { startRuntime, type Runtime } from '../src/runtime.js';
import type { DecideFace } from '../src/runtime/faces.js';
import { COMMON_FLAGS, commonOptions, readFlags, stringFlag } from './lib/args.js';
import { buildBaselineCore } from './lib/baseline-core.js';
import { CpuWindow } from './lib/cpu.js';
import { closedLoop } from './lib/load.js';
import { watchdog } from './lib/process.js';
import { BUNDLES, tempDir } from './lib/paths.js';
import { cpuFields, fromLoad, report, type Measurement, type TableName } from './lib/result.js';
import { seedRequests, seedSettledCharges } from './lib/seed-usage.js';
import { loadWorkload, type Workload } from './lib/workload.js';

const flags = readFlags({ ...COMMON_FLAGS, only: { type: 'string' } });
const options = commonOptions(flags, { seconds: 5, warmup: 1 });
const only = stringFlag(flags, 'only');
watchdog(120 + 8 * (options.seconds + options.warmupSeconds) * 3, 'bench/engine');
const workload = loadWorkload();
const oneCostCenter = loadWorkload({ costCenters: 1 });
// One subject's calls, 16 tokens each (31 reserved with the prompt's): its 5,000,000-token weekly budget lasts about 160,000 calls;
// with the sample's 512 (527 reserved) it ran out after about 9,500, within one window at 1,650/s.
const oneSubject = loadWorkload({ subjects: 1, maxTokens: 16 });
const BUSY_AGENT_REQUESTS = 36_000;

type Built = { decide: DecideFace; stop(): Promise<void> | void };

/** The ledger-off baseline, driven like a runtime. */
function baseline(usageFile: string | undefined): Built {
  const core = buildBaselineCore(BUNDLES, usageFile);
  return { decide: (request) => core.engine.decide(request), stop: () => core.close() };
}

interface Scenario {
  table: TableName;
  label: string;
  /** Defaults to the main workload (64 cost centers). */
  workload?: Workload;
  /** Builds a fresh engine in `dir`; returns it with its teardown. */
  build(dir: string): Built | Promise<Built>;
}

/**
 * The real core on a file, every call on one cost center that already holds
 * `charges` settled calls this month: a month of history, as a busy cost
 * center would have, instead of the near-empty store of the other rows.
 */
async function withHistory(dir: string, charges: number): Promise<Runtime> {
  const core = await startRuntime({ bundles: BUNDLES, ledger: join(dir, 'ledger.db') });
  if (!(core.parts.usage instanceof SqliteUsageStore)) throw new Error('usage is off');
  await seedSettledCharges(core.parts.ledger.db, core.parts.usage, oneCostCenter, charges);
  return core;
}

/** The real core on a file, every call by one subject that already made `requests` requests in the last hour. */
async function withRequests(dir: string, requests: number): Promise<Runtime> {
  const core = await startRuntime({ bundles: BUNDLES, ledger: join(dir, 'ledger.db') });
  if (!(core.parts.usage instanceof SqliteUsageStore)) throw new Error('usage is off');
  const subject = oneSubject.inputs[0]?.subject;
  if (!isJsonObject(subject)) throw new Error('workload input without subject');
  seedRequests(core.parts.ledger.db, core.parts.usage, String(subject.id), requests);
  return core;
}

const LEDGER_OFF = 'ledger off (bench-only no-op ledger)';
const LEDGER_ON = 'ledger on (SqliteLedger file, normal)';

const scenarios: Scenario[] = [
  {
    table: 'path',
    label: "gavel engine in-process: startRuntime(':memory:' ledger, usage on), runtime.decide",
    build: () => startRuntime({ bundles: BUNDLES, ledger: ':memory:' }),
  },
  {
    table: 'toggles',
    label: `${LEDGER_OFF}, usage off`,
    build: () => baseline(undefined),
  },
  {
    table: 'toggles',
    label: `${LEDGER_OFF}, usage on`,
    build: (dir) => baseline(join(dir, 'usage.db')),
  },
  {
    table: 'toggles',
    label: `${LEDGER_ON}, usage off`,
    build: (dir) => startRuntime({ bundles: BUNDLES, ledger: join(dir, 'ledger.db'), usage: false }),
  },
  {
    table: 'toggles',
    label: `${LEDGER_ON}, usage on (what \`gavel serve\` runs)`,
    build: (dir) => startRuntime({ bundles: BUNDLES, ledger: join(dir, 'ledger.db') }),
  },
  // Metering reads sums over this month's charges of the subject, team and cost
  // center; these rows show what a month of history does to that read.
  ...[10_000, 100_000].map(
    (charges): Scenario => ({
      table: 'toggles',
      label: `${LEDGER_ON}, usage on, all calls on one cost center that already has ${charges.toLocaleString('en-US')} settled calls this month`,
      workload: oneCostCenter,
      build: (dir) => withHistory(dir, charges),
    }),
  ),
  // The policy sees each subject's requests in the last minute and denials in the last hour: a busy agent's hour.
  {
    table: 'toggles',
    label: `${LEDGER_ON}, usage on, all calls by one subject that made ${BUSY_AGENT_REQUESTS.toLocaleString('en-US')} requests in the last hour`,
    workload: oneSubject,
    build: (dir) => withRequests(dir, BUSY_AGENT_REQUESTS),
  },
];

const measurements: Measurement[] = [];
for (const s of scenarios) {
  if (only && s.table !== only) continue;
  // A fresh folder and engine per scenario: no scenario inherits another's ledger size or usage rows.
  const dir = tempDir('gavel-bench-engine-');
  const core = await s.build(dir.path);
  const load = s.workload ?? workload;
  try {
    const cpu = new CpuWindow([undefined]);
    const result = await closedLoop(
      async (i) => {
        const d = await core.decide({
          policy: load.entrypoint,
          input: { json: load.json[i % load.json.length]! },
          requestId: `bench-${i}`,
          caller: 'bench',
        });
        return d.decision === load.expect;
      },
      { ...options, onWindow: (edge) => (edge === 'start' ? cpu.start() : undefined) },
    );
    const [cores] = cpu.stop();
    measurements.push(fromLoad(s.table, s.label, 'decisions/s', result, { concurrency: options.concurrency, ...cpuFields(['process', cores]) }));
  } finally {
    await core.stop();
    dir.remove();
  }
}

report({ part: 'engine', measurements, notes: [] }, options.out);
