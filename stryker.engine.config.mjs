// StrykerJS over src/engine, in parts (stryker.parts.mjs):
//   GAVEL_MUTATE_PART=approvals nice -n 5 npx stryker run stryker.engine.config.mjs   (runners, path, input)
// Score: npx tsx scripts/mutation-score.ts reports/mutation/engine-*.json (README, "Mutation testing").
import { partsConfig } from './stryker.parts.mjs';

export default partsConfig('engine', {
  // The approval desk, its store port, columns and wire form.
  approvals: ['src/engine/approvals/**/*.ts'],
  // Where decisions are evaluated and serialised: the runners, the worker pool, the locks, replay and shadow.
  runners: [
    'src/engine/pool/**/*.ts',
    'src/engine/replay/**/*.ts',
    'src/engine/shadow/**/*.ts',
    'src/engine/{adaptive-runner,runner,evaluator,pick-runner,key-locks,decision-locks}.ts',
  ],
  // The decision path: Engine.decide, its stages, the result contract, the entry, offline entries and the usage facts.
  path: [
    'src/engine/{engine,stages,result,ledger,record,meter,usage-facts,header-facts,policies,policy-event,policy-ref,config,ports,offline,idempotency}.ts',
  ],
  // The input: parsing, the scan for personal data and secrets, redaction.
  input: ['src/engine/{input,input-scan,redact,scan-text,scan-view}.ts'],
});
