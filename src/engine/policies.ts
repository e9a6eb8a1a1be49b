import { GavelError } from '../lib/errors.js';
import type { Bundle } from '../bundles/bundle.js';
import { WasmEvaluator, type EvaluatorLimits } from './evaluator.js';

/**
 * The active bundle set: entrypoint -> evaluator. `activate` builds every
 * evaluator first and swaps the whole map in one assignment, so a request sees
 * either the old set or the new one, never a mix, and a failing bundle leaves
 * the last good set in place.
 */
export class PolicySet {
  private byEntrypoint = new Map<string, WasmEvaluator>();
  private active: Bundle[] = [];
  private readonly limits: EvaluatorLimits;

  constructor(limits: EvaluatorLimits) {
    this.limits = limits;
  }

  activate(bundles: Bundle[]): void {
    const next = new Map<string, WasmEvaluator>();
    for (const bundle of bundles) {
      const evaluator = new WasmEvaluator(bundle, this.limits);
      for (const entrypoint of bundle.entrypoints) next.set(entrypoint, evaluator);
    }
    this.byEntrypoint = next;
    this.active = bundles;
  }

  get ready(): boolean {
    return this.byEntrypoint.size > 0;
  }

  get bundles(): readonly Bundle[] {
    return this.active;
  }

  /** One evaluator per active bundle. */
  evaluators(): WasmEvaluator[] {
    return [...new Set(this.byEntrypoint.values())];
  }

  entrypoints(): string[] {
    return [...this.byEntrypoint.keys()].sort();
  }

  /** The evaluator of an entrypoint, or undefined (a shadow set need not cover every live entrypoint). */
  find(entrypoint: string): WasmEvaluator | undefined {
    return this.byEntrypoint.get(entrypoint);
  }

  resolve(entrypoint: string): WasmEvaluator {
    if (!this.ready) throw new GavelError('not_ready', 'no policy bundle is active yet');
    const evaluator = this.byEntrypoint.get(entrypoint);
    if (!evaluator) {
      throw new GavelError('unknown_entrypoint', `unknown policy entrypoint "${entrypoint}"; known: ${this.entrypoints().join(', ')}`);
    }
    return evaluator;
  }
}
