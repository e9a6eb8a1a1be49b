/**
 * The floor: the policy evaluated by opa-wasm alone, in this process, with
 * nothing of gavel around it (no input checks, no context, no ledger). Every
 * other row of the report is this plus something, so this is the number the
 * rest is read against.
 *
 *   npx tsx bench/wasm.ts --seconds 5
 */
import { isJsonObject } from '../src/lib/json.js';
import { COMMON_FLAGS, commonOptions, readFlags } from './lib/args.js';
import { CpuWindow } from './lib/cpu.js';
import { tightLoop } from './lib/load.js';
import { loadFloorPolicy } from './lib/floor-policy.js';
import { cpuFields, fromLoad, report } from './lib/result.js';
import { loadWorkload } from './lib/workload.js';

const options = commonOptions(readFlags(COMMON_FLAGS), { seconds: 5, warmup: 1 });
const workload = loadWorkload();

const policy = await loadFloorPolicy();

const decisionOf = (resultSet: unknown): unknown => {
  const first: unknown = Array.isArray(resultSet) ? resultSet[0] : undefined;
  return isJsonObject(first) && isJsonObject(first.result) ? first.result.decision : undefined;
};

const cpu = new CpuWindow([undefined]);
const result = tightLoop((i) => decisionOf(policy.evaluate(workload.inputs[i % workload.inputs.length], workload.entrypoint)) === workload.expect, {
  seconds: options.seconds,
  warmupSeconds: options.warmupSeconds,
  onWindow: (edge) => (edge === 'start' ? cpu.start() : undefined),
});
const [cores] = cpu.stop();

report(
  {
    part: 'wasm',
    measurements: [
      fromLoad('path', 'opa-wasm alone: loadPolicy + setData, evaluate() in a tight loop (floor)', 'evals/s', result, {
        concurrency: 1,
        ...cpuFields(['process', cores]),
      }),
    ],
    notes: [],
  },
  options.out,
);
