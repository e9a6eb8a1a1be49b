import { describe, expect, it } from 'vitest';
import { loadBundles } from '../../src/bundles/loader.js';
import { EvaluationFault, WasmEvaluator } from '../../src/engine/evaluator.js';
import { PolicySet } from '../../src/engine/policies.js';
import { GavelError } from '../../src/lib/errors.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';
import { refusalOf } from '../helpers/refusal.js';

/** Loading a bundle's wasm, and the policy set that routes entrypoints to evaluators. */

const [fixtures] = loadBundles(FIXTURE_BUNDLES);
const limits = { memoryInitialPages: 2, memoryMaxPages: 64 };

const refusal = refusalOf;

describe('WasmEvaluator', () => {
  it('wasm that does not load is bundle_invalid naming the bundle, keeping the cause', () => {
    const err = refusal(() => new WasmEvaluator({ ...fixtures!, name: 'broken', wasm: new Uint8Array([0, 1, 2, 3]) }, limits));
    expect(err.code).toBe('bundle_invalid');
    expect(err.message).toMatch(/^bundle broken: wasm does not load: .+/);
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.message).toContain((err.cause as Error).message);
  });

  it('a manifest entrypoint missing from the wasm is bundle_invalid naming it', () => {
    const err = refusal(() => new WasmEvaluator({ ...fixtures!, name: 'fx', entrypoints: [...fixtures!.entrypoints, 'fixtures/absent'] }, limits));
    expect(err.code).toBe('bundle_invalid');
    expect(err.message).toBe('bundle fx: manifest entrypoint fixtures/absent is not in the wasm module');
  });

  it('a fault names itself and keeps what the wasm threw (a bare string, for memory)', () => {
    const evaluator = new WasmEvaluator(fixtures!, limits);
    let fault: unknown;
    try {
      evaluator.evaluate({ n: 10_000_000 }, 'fixtures/hungry');
    } catch (err) {
      fault = err;
    }
    expect(fault).toBeInstanceOf(EvaluationFault);
    expect((fault as EvaluationFault).name).toBe('EvaluationFault');
    // Running out of memory, opa-wasm throws a bare string: the fault's message is that string, the cause the thrown value.
    expect(typeof (fault as EvaluationFault).cause).toBe('string');
    expect((fault as EvaluationFault).message).toBe((fault as EvaluationFault).cause);
    expect((fault as EvaluationFault).message).toMatch(/malloc/);
    expect(evaluator.faultCount).toBe(1);
  });
});

describe('a trap', () => {
  it('an Error thrown by the wasm gives its message', () => {
    const evaluator = new WasmEvaluator(fixtures!, limits);
    let fault: EvaluationFault | undefined;
    try {
      evaluator.evaluate({ a: true, b: true }, 'fixtures/conflict');
    } catch (err) {
      fault = err as EvaluationFault;
    }
    expect(fault).toBeInstanceOf(EvaluationFault);
    const cause = fault!.cause;
    expect(fault!.message).toBe(cause instanceof Error ? cause.message : String(cause));
    expect(fault!.message.length).toBeGreaterThan(0);
    // The instance was replaced: the next evaluation is served.
    expect(evaluator.evaluate({ a: true }, 'fixtures/conflict')).toEqual([{ result: { decision: 'allow' } }]);
  });
});

describe('PolicySet', () => {
  it('before any bundle is active: not_ready', () => {
    const set = new PolicySet(limits);
    expect(set.ready).toBe(false);
    const err = refusal(() => set.resolve('fixtures/echo'));
    expect(err.code).toBe('not_ready');
    expect(err.message).toBe('no policy bundle is active yet');
  });

  it('an unknown entrypoint lists the known ones, sorted', () => {
    const set = new PolicySet(limits);
    // Listed in the bundle in reverse order, so that only sorting puts them in order.
    const sorted = [...fixtures!.entrypoints].sort();
    expect(sorted.length).toBeGreaterThan(1);
    const reversed = { ...fixtures!, entrypoints: [...sorted].reverse() };
    set.activate([reversed]);
    const err = refusal(() => set.resolve('nope'));
    expect(err.code).toBe('unknown_entrypoint');
    expect(err.message).toBe(`unknown policy entrypoint "nope"; known: ${sorted.join(', ')}`);
    expect(set.entrypoints()).toEqual(sorted);
    expect(set.bundles).toEqual([reversed]);
  });

  it('a failing bundle leaves the last good set in place', () => {
    const set = new PolicySet(limits);
    set.activate([fixtures!]);
    expect(() => set.activate([{ ...fixtures!, wasm: new Uint8Array([1]) }])).toThrow(GavelError);
    expect(set.resolve('fixtures/echo').bundle).toBe(fixtures);
  });
});
