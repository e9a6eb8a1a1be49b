import { randomBytes, randomUUID } from 'node:crypto';
import { loadBundles } from '../../src/bundles/loader.js';
import { engineConfig } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import type { EntryRecord } from '../../src/engine/ledger.js';
import { pickRunner } from '../../src/engine/pick-runner.js';
import { PolicySet } from '../../src/engine/policies.js';
import { NullLedger } from './null-ledger.js';
import { BUNDLES } from './paths.js';
import { loadWorkload } from './workload.js';

/** One record exactly as the engine hands it to the ledger for the workload's main input. */
export async function engineRecord(): Promise<EntryRecord> {
  const workload = loadWorkload();
  const capture = new NullLedger();
  const config = engineConfig();
  const policies = new PolicySet({ memoryInitialPages: config.memoryInitialPages, memoryMaxPages: config.memoryMaxPages });
  const engine = new Engine({ config, ledger: capture, policies, runner: pickRunner(config).runner });
  engine.activate(loadBundles(BUNDLES));
  await engine.decide({ policy: workload.entrypoint, input: { json: workload.json[0]! }, requestId: 'bench', caller: 'bench' });
  if (!capture.last) throw new Error('the engine did not append a record');
  return capture.last;
}

/** `base` with a fresh decision id and salt: decision_id is UNIQUE in the ledger, and each entry has its own salt. */
export const freshRecord = (base: EntryRecord): EntryRecord => ({ ...base, decisionId: randomUUID(), salt: randomBytes(16) });
