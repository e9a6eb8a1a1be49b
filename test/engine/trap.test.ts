import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareEngine, type BareEngine } from '../helpers/bare-engine.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';

/**
 * A trap must swap in a fresh wasm instance (its heap may be corrupt), not just
 * count a fault. The trap is provoked for real: fixtures/hungry allocates an
 * array of input.n numbers, and the evaluator here may grow its wasm memory to
 * only 16 pages (1 MiB), so n = 100,000 exhausts it (it would fit in the default
 * 128 MiB) while n = 1000 fits.
 */
const MEMORY = { memoryInitialPages: 4, memoryMaxPages: 16 };
let core: BareEngine;
const decide = (input: unknown) =>
  core.engine.decide({ policy: 'fixtures/hungry', input: { json: Buffer.from(JSON.stringify(input)) }, requestId: 'trap-1', caller: 'test' });

// Built from its parts: the test reads the evaluator the engine resolves (a runtime keeps its policy set to itself).
beforeAll(() => {
  core = bareEngine(FIXTURE_BUNDLES, { defaultEntrypoint: 'fixtures/echo', ...MEMORY });
});
afterAll(() => core.close());

describe('a wasm trap replaces the evaluator instance', () => {
  it('DENY evaluation_error, a new wasm instance, and the next request served by it', async () => {
    const evaluator = core.policies.resolve('fixtures/hungry');

    // Before: a normal request is served, and does not replace the instance.
    const before = evaluator.instance;
    const warm = await decide({ n: 1000 });
    expect(warm.decision).toBe('allow');
    expect(evaluator.instance).toBe(before);

    // The trap: memory exhaustion inside the wasm module.
    const trapped = await decide({ n: 100_000 });
    expect(trapped.decision).toBe('deny');
    expect(trapped.reasons).toHaveLength(1);
    expect(trapped.reasons[0]).toMatchObject({ code: 'evaluation_error', effect: 'deny' });
    expect(trapped.reasons[0]!.message).toContain('evaluation of fixtures/hungry failed');
    expect(trapped.reasons[0]!.message).toContain('opa_malloc');
    expect(evaluator.faultCount).toBe(1);

    // (b) A different WebAssembly.Instance object now serves the entrypoint.
    const after = evaluator.instance;
    expect(Object.prototype.toString.call(after)).toBe('[object WebAssembly.Instance]');
    expect(after).not.toBe(before);

    // (c) The next normal request is answered correctly, by that new instance.
    const next = await decide({ n: 1000 });
    expect(next.decision).toBe('allow');
    expect(next.reasons[0]).toMatchObject({ code: 'counted', message: '1000' });
    expect(evaluator.instance).toBe(after);
  });
});
