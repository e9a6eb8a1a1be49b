import * as opaWasm from '@open-policy-agent/opa-wasm';
import type { LoadedPolicy } from '@open-policy-agent/opa-wasm';

// The package's ESM entry names only loadPolicy; the synchronous loader hangs off the default export.
const { loadPolicySync } = (opaWasm as unknown as { default: { loadPolicySync: typeof opaWasm.loadPolicySync } }).default;
import { errorMessage, GavelError } from '../lib/errors.js';
import type { Bundle } from '../bundles/bundle.js';
import type { JsonObject } from '../lib/json.js';
import { withScanView } from './scan-view.js';

export interface EvaluatorLimits {
  /** Initial and maximum wasm memory in 64 KiB pages; the maximum bounds what one evaluation may use. */
  memoryInitialPages: number;
  memoryMaxPages: number;
}

/** Raised when the wasm module traps or exhausts memory; the instance is replaced before it is raised. */
export class EvaluationFault extends Error {
  override readonly name = 'EvaluationFault';
}

/**
 * One bundle's compiled module and a live instance. Evaluation in opa-wasm is
 * synchronous, so a single instance serves every request of this process; a
 * trap may leave its heap corrupt, so a fault swaps in a fresh instance.
 */
export class WasmEvaluator {
  readonly bundle: Bundle;
  private readonly module: WebAssembly.Module;
  private readonly limits: EvaluatorLimits;
  private policy: LoadedPolicy;
  private faults = 0;

  /** `module`, when given, is the bundle's wasm already compiled (a worker is handed the module its pool compiled). */
  constructor(bundle: Bundle, limits: EvaluatorLimits, module?: WebAssembly.Module) {
    this.bundle = bundle;
    this.limits = limits;
    try {
      this.module = module ?? new WebAssembly.Module(bundle.wasm);
      this.policy = this.instantiate();
    } catch (err) {
      throw new GavelError('bundle_invalid', `bundle ${bundle.name}: wasm does not load: ${errorMessage(err)}`, { cause: err });
    }
    this.checkEntrypoints();
  }

  /** The compiled module (shared with evaluation workers, which instantiate it themselves). */
  get compiled(): WebAssembly.Module {
    return this.module;
  }

  get faultCount(): number {
    return this.faults;
  }

  /** The live WebAssembly instance (read-only; a fault replaces it with a new one). */
  get instance(): object {
    return this.policy.wasmInstance;
  }

  /**
   * Returns the raw result set ([] when undefined). Throws EvaluationFault on a trap.
   * The policy sees `input` with gavel's `context.scan` (normalised text, src/engine/scan-view.ts),
   * on every path that evaluates: decisions, shadow, replay, `gavel eval`.
   */
  evaluate(input: JsonObject, entrypoint: string): unknown {
    const policyInput = withScanView(input);
    try {
      return this.policy.evaluate(policyInput, entrypoint);
    } catch (err) {
      this.faults++;
      this.policy = this.instantiate();
      throw new EvaluationFault(errorMessage(err), { cause: err });
    }
  }

  private instantiate(): LoadedPolicy {
    const memory = { initial: this.limits.memoryInitialPages, maximum: this.limits.memoryMaxPages };
    const policy = loadPolicySync(this.module, memory);
    policy.setData(this.bundle.data);
    return policy;
  }

  private checkEntrypoints(): void {
    const compiled = Object.keys(this.policy.entrypoints as Record<string, number>);
    for (const entrypoint of this.bundle.entrypoints) {
      if (!compiled.includes(entrypoint)) {
        throw new GavelError('bundle_invalid', `bundle ${this.bundle.name}: manifest entrypoint ${entrypoint} is not in the wasm module`);
      }
    }
  }
}
