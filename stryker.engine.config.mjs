// StrykerJS over src/engine, in parts (stryker.parts.mjs):
//   GAVEL_MUTATE_PART=approvals nice -n 5 npx stryker run stryker.engine.config.mjs   (runners, pool, replay-shadow, decide, contract, input)
// Score: npx tsx scripts/mutation-score.ts reports/mutation/engine-*.json (README, "Mutation testing").
import { partsConfig } from './stryker.parts.mjs';

export default partsConfig('engine', {
  // The approval desk, its store port, columns and wire form.
  approvals: ['src/engine/approvals/**/*.ts'],
  // Where decisions are evaluated and serialised, in three parts that each fit in a sitting (together, their worker
  // tests made one run of 1,043 mutants a matter of hours): the runners on this thread, the evaluator and the locks ...
  runners: ['src/engine/{adaptive-runner,runner,evaluator,pick-runner,key-locks,decision-locks}.ts'],
  // ... the evaluation worker pool ...
  pool: ['src/engine/pool/**/*.ts'],
  // ... and replay and shadow evaluation.
  'replay-shadow': ['src/engine/replay/**/*.ts', 'src/engine/shadow/**/*.ts'],
  // The decision path, in two parts that each fit in a sitting (its 1,058 mutants did not: engine.ts's survivors each
  // run most of the suite). Engine.decide and its stages:
  decide: ['src/engine/{engine,stages}.ts'],
  // ... and what they build on: the result contract, the entry, offline entries, the usage facts, policies, idempotency.
  contract: [
    'src/engine/{result,ledger,record,meter,usage-facts,header-facts,policies,policy-event,policy-ref,config,ports,offline,idempotency}.ts',
  ],
  // The input: parsing, the scan for personal data and secrets, redaction.
  input: ['src/engine/{input,input-scan,redact,scan-text,scan-view}.ts'],
});
