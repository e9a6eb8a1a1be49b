import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { loadBundles } from '../../src/bundles/loader.js';
import { ENGINE_DEFAULTS } from '../../src/engine/config.js';
import { AI_BUNDLE } from './paths.js';

/**
 * The shipped `ai` policy loaded by opa-wasm alone, with the memory limits the engine gives its
 * evaluator, so the floor evaluates under the same conditions as gavel (bench/wasm.ts, bench/cold.ts).
 */
export async function loadFloorPolicy(): Promise<Awaited<ReturnType<typeof loadPolicy>>> {
  const [bundle] = loadBundles(AI_BUNDLE);
  if (!bundle) throw new Error(`${AI_BUNDLE}: no bundle`);
  const policy = await loadPolicy(bundle.wasm, { initial: ENGINE_DEFAULTS.memoryInitialPages, maximum: ENGINE_DEFAULTS.memoryMaxPages });
  policy.setData(bundle.data);
  return policy;
}
