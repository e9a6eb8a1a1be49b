// StrykerJS over src/engine, in parts that each fit in a sitting (about an hour each on a 2-core machine),
// each with its own incremental file, so a stopped run loses one part at most:
//   GAVEL_MUTATE_PART=approvals nice -n 5 npx stryker run stryker.engine.config.mjs   (runners, path, input)
// Without GAVEL_MUTATE_PART the whole folder is one run (reports/stryker-incremental-engine.json).
// Score: npx tsx scripts/mutation-score.ts reports/mutation/engine-*.json (README, "Mutation testing").
import base from './stryker.config.mjs';

const PARTS = {
  // The approval desk, its store port, columns and wire form.
  approvals: ['src/engine/approvals/**/*.ts'],
  // Where decisions are evaluated and serialised: the runners, the worker pool, the locks, replay and shadow.
  runners: [
    'src/engine/pool/**/*.ts',
    'src/engine/replay/**/*.ts',
    'src/engine/shadow/**/*.ts',
    'src/engine/{adaptive-runner,runner,evaluator,pick-runner,key-locks,decision-locks}.ts',
  ],
  // The decision path: Engine.decide, its stages, the result contract, the entry and the usage facts.
  path: [
    'src/engine/{engine,stages,result,ledger,record,meter,usage-facts,header-facts,policies,policy-event,policy-ref,config,ports}.ts',
  ],
  // The input: parsing, the scan for personal data and secrets, redaction.
  input: ['src/engine/{input,input-scan,redact,scan-text,scan-view}.ts'],
};

const part = process.env.GAVEL_MUTATE_PART;
if (part !== undefined && !(part in PARTS)) throw new Error(`GAVEL_MUTATE_PART must be one of ${Object.keys(PARTS).join(', ')}`);
const name = part === undefined ? 'engine' : `engine-${part}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: part === undefined ? ['src/engine/**/*.ts'] : PARTS[part],
  incrementalFile: `reports/stryker-incremental-${name}.json`,
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
};
