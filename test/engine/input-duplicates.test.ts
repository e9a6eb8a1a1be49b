import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { exactDecimal, scanInput } from '../../src/engine/input-scan.js';
import { inexactParamsOf, parseInputJson } from '../../src/engine/input.js';
import { GavelError } from '../../src/lib/errors.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';

/**
 * A key that appears twice in one object is refused: JSON.parse keeps the last
 * (`{"amount":9999999,"amount":500}` is 500), another parser the first, so the
 * policy, the ledger and the system that moves the money would disagree on the amount.
 */
let core: Runtime;
beforeAll(async () => {
  core = await startRuntime({ bundles: FIXTURE_BUNDLES, ledger: ':memory:', engine: { defaultEntrypoint: 'fixtures/echo' }, usage: false });
});
afterAll(() => core.stop());

const limits = { maxInputBytes: 1 << 20, maxDepth: 64 };

async function decideText(text: string): Promise<string> {
  try {
    const d = await core.decide({ policy: '', input: { json: Buffer.from(text) }, requestId: '', caller: 'test' });
    return d.decision;
  } catch (err) {
    if (err instanceof GavelError) return `${err.code}: ${err.message}`;
    throw err;
  }
}

const allow = '"result":{"decision":"allow"}';

describe('duplicate keys', () => {
  it('the amount given twice is refused naming its pointer, and nothing is recorded', async () => {
    const before = core.parts.ledger.size;
    expect(await decideText(`{"action":{"params":{"amount":9999999,"amount":500}},${allow}}`)).toBe(
      'invalid_input: input /action/params/amount is a duplicate key: each key may appear once per object',
    );
    expect(core.parts.ledger.size).toBe(before);
    // The same document without the second amount is decided.
    expect(await decideText(`{"action":{"params":{"amount":9999999}},${allow}}`)).toBe('allow');
  });

  it.each([
    ['at the top', '{"a":1,"b":2,"a":3}', '/a'],
    ['spelt with an escape', '{"p":{"a":1,"\\u0061":2}}', '/p/a'],
    ['in an object inside an array', '{"x":[1,{"k":1},{"k":1,"j":2,"k":3}]}', '/x/2/k'],
    ['with / and ~ in the key, escaped in the pointer', '{"a/b":{"c~d":{"e":1,"e":2}}}', '/a~1b/c~0d/e'],
    ['an escaped quote in the key', '{"q\\"":1,"q\\"":2}', '/q"'],
    ['the empty key', '{"":1,"":2}', '/'],
    ['in an object of many keys', `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"k7":0}`, '/k7'],
    ['the first of several', '{"z":{"y":1,"y":2},"z2":{"w":1,"w":2}}', '/z/y'],
  ])('%s', (_name, text, pointer) => {
    expect(scanInput(text, 64).duplicate).toBe(pointer);
    expect(() => parseInputJson(Buffer.from(text), limits)).toThrow(
      expect.objectContaining({ code: 'invalid_input', message: `input ${pointer} is a duplicate key: each key may appear once per object` }),
    );
  });

  it.each([
    ['one key in two objects', '{"a":{"k":1},"b":{"k":1},"k":[{"k":1},{"k":2}]}'],
    ['a value that spells a key', '{"a":"a","b":["a","a"],"c":{"a":"a"}}'],
    ['keys that differ by case, escape or a backslash', '{"a":1,"A":2,"\\\\a":3,"a\\\\":4}'],
    ['brackets and quotes inside strings', '{"a":"{\\"a\\":1,","b":"}","a\\"":1}'],
    ['many keys, all distinct', `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')}}`],
  ])('%s is no duplicate', (_name, text) => {
    expect(scanInput(text, 64).duplicate).toBeUndefined();
    expect(() => parseInputJson(Buffer.from(text), limits)).not.toThrow();
  });

  it('keys are tracked down to the depth limit; past it only the depth is counted (the input is refused whole)', () => {
    expect(scanInput('{"a":{"b":1,"b":2}}', 2).duplicate).toBe('/a/b');
    expect(scanInput('{"a":{"b":1,"b":2}}', 1)).toEqual({ depth: 2 });
    const bomb = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    const before = process.memoryUsage().heapUsed;
    expect(scanInput(bomb, 64).depth).toBe(1_000_000);
    // A frame per level would be tens of megabytes; the limit's 64 frames are nothing. (Not under Stryker:
    // its per-test coverage instruments the scanning loop, which then allocates on its own.)
    if (!process.env.STRYKER_MUTATOR_WORKER) expect(process.memoryUsage().heapUsed - before).toBeLessThan(8 << 20);
    expect(() => parseInputJson(Buffer.from(bomb), { maxInputBytes: 4 << 20, maxDepth: 64 })).toThrow(
      expect.objectContaining({ code: 'input_too_deep', message: 'input nests 1000000 levels deep, over the limit of 64' }),
    );
  });

  it('text that is not JSON is refused as such, duplicates or not', () => {
    expect(() => parseInputJson(Buffer.from('{"a":1,"a":2'), limits)).toThrow(/is not valid JSON/);
    // A string that never closes ends the scan (it does not start over): refused at once.
    for (const open of ['{"a":"abc', '{"a":"abc\\"', '{"', '"']) {
      expect(() => parseInputJson(Buffer.from(open), limits)).toThrow(/is not valid JSON/);
    }
  });
});

describe('the exact decimals of action.params', () => {
  it('are kept for the numbers a double does not hold, by pointer within params', () => {
    const scan = scanInput('{"amount":50000.000000000001,"action":{"params":{"amount":50000.000000000001,"n":[1,2.5,0.1,9007199254740993],"ok":50000.0}}}', 64);
    expect(scan.inexactParams).toEqual(
      new Map([
        ['/amount', '50000000000000001e-12'],
        ['/n/3', '9007199254740993e0'],
      ]),
    );
    expect(scanInput('{"action":{"params":12345678901234567890}}', 64).inexactParams).toEqual(new Map([['', '1234567890123456789e1']]));
    expect(scanInput('{"action":{"params":{"a":1.5,"b":-0,"c":1e-7,"d":123456789012345,"e":-5e4}}}', 64).inexactParams).toBeUndefined();
    // Only action.params: another action's key or a top-level params are not bound.
    expect(scanInput('{"params":{"a":0.10000000000000001},"action":{"x":{"params":{"a":0.10000000000000001}}}}', 64).inexactParams).toBeUndefined();
  });

  it('are read in every spelling of a number: signed, led by 0, after a space, with e, E, + or - in the exponent', () => {
    const params = (body: string, maxDepth = 64) => scanInput(`{"action":{"params":${body}}}`, maxDepth).inexactParams;
    expect(params('{"a":-50000.000000000001}')).toEqual(new Map([['/a', '-50000000000000001e-12']]));
    expect(params('{"a":0.10000000000000001}')).toEqual(new Map([['/a', '10000000000000001e-17']]));
    expect(params('{"a": 50000.000000000001}')).toEqual(new Map([['/a', '50000000000000001e-12']]));
    const big = new Map([['/a', '9007199254740993e0']]);
    for (const spelt of ['9.007199254740993e15', '9.007199254740993E15', '9.007199254740993e+15', '90071992547409930e-1']) {
      expect(params(`{"a":${spelt}}`)).toEqual(big);
    }
    // A number out of range is refused whole later (input.ts), not bound here.
    expect(params('{"a":1e999}')).toBeUndefined();
    // At the depth limit itself (root, action, params: 3) it is still read.
    expect(params('{"a":50000.000000000001}', 3)).toEqual(new Map([['/a', '50000000000000001e-12']]));
  });

  it('are kept beside the object parseInputJson returns, for the approval fingerprint', () => {
    const obj = parseInputJson(Buffer.from('{"action":{"params":{"amount":50000.000000000001}}}'), limits);
    expect(inexactParamsOf(obj)).toEqual(new Map([['/amount', '50000000000000001e-12']]));
    expect(inexactParamsOf(parseInputJson(Buffer.from('{"action":{"params":{"amount":50000}}}'), limits))).toBeUndefined();
  });

  it('one form per value: sign, significant digits, power of ten', () => {
    // Text that is no number literal is given back as it is.
    expect(['NaN', 'Infinity', '1.2.3'].map(exactDecimal)).toEqual(['NaN', 'Infinity', '1.2.3']);
    expect(['50000', '50000.0', '5e4', '5.0E+4', '500000e-1', '0050000'].map(exactDecimal)).toEqual(Array(6).fill('5e4'));
    expect(['0', '-0', '0.000', '0e10'].map(exactDecimal)).toEqual(['0', '0', '0', '0']);
    expect(exactDecimal('50000.000000000001')).toBe('50000000000000001e-12');
    expect(exactDecimal('-0.0012')).toBe('-12e-4');
    expect(exactDecimal('1e-1000000000000000000000001')).not.toBe(exactDecimal('1e-1000000000000000000000000'));
  });
});

/**
 * The scan against a reference that walks the document as a tree: arbitrary documents whose
 * objects may repeat a key (spelt plainly or with \u escapes), over keys that include the ones the
 * scan treats specially (`action`, `params`, escapes, `/` and `~`), in objects small and large.
 */
describe('the scan against a tree walk of the same document', () => {
  type Doc = { members: Array<[string, boolean, Doc]> } | { items: Doc[] } | { number: string } | { string: string };
  const keys = fc.constantFrom('a', 'b', 'k', 'action', 'params', 'param', 'actions', '', 'a/b', 'q"', '\\', '~x', 'é');
  const literals = ['1', '-0', '0.1', '50000.000000000001', '9007199254740993', '12345678901234567890', '5e4', '1.5'];
  const inexact = new Map([
    ['50000.000000000001', '50000000000000001e-12'],
    ['9007199254740993', '9007199254740993e0'],
    ['12345678901234567890', '1234567890123456789e1'],
  ]);
  const doc: fc.Arbitrary<Doc> = fc.letrec<{ doc: Doc }>((tie) => ({
    doc: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom(...literals).map((number) => ({ number })),
      fc.constantFrom('a', 'action', '{"a":1,"a":2}', 'x\\"').map((string) => ({ string })),
      fc.array(tie('doc'), { maxLength: 4 }).map((items) => ({ items })),
      fc.array(fc.tuple(keys, fc.boolean(), tie('doc')), { maxLength: 24 }).map((members) => ({ members })),
    ),
  })).doc;
  const escaped = (key: string) => `"${[...key].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`;
  const write = (d: Doc): string => {
    if ('number' in d) return d.number;
    if ('string' in d) return JSON.stringify(d.string);
    if ('items' in d) return `[${d.items.map(write).join(',')}]`;
    return `{${d.members.map(([k, esc, v]) => `${esc ? escaped(k) : JSON.stringify(k)}:${write(v)}`).join(',')}}`;
  };
  const token = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');
  /** The first repeated key in document order, and the inexact numbers under /action/params, by walking the tree. */
  const reference = (root: Doc) => {
    let duplicate: string | undefined;
    const numbers = new Map<string, string>();
    const walk = (d: Doc, path: string[]) => {
      if ('number' in d) {
        const exact = inexact.get(d.number);
        if (exact && path.length >= 2 && path[0] === 'action' && path[1] === 'params')
          numbers.set(
            path
              .slice(2)
              .map(token)
              .map((t) => `/${t}`)
              .join(''),
            exact,
          );
      } else if ('items' in d) {
        for (const [i, item] of d.items.entries()) walk(item, [...path, String(i)]);
      } else if ('members' in d) {
        const seen = new Set<string>();
        for (const [k, , v] of d.members) {
          if (seen.has(k)) duplicate ??= [...path, k].map((t) => `/${token(t)}`).join('');
          seen.add(k);
          walk(v, [...path, k]);
        }
      }
    };
    walk(root, []);
    return { duplicate, numbers };
  };

  it('finds the same first duplicate and the same inexact numbers', () => {
    fc.assert(
      fc.property(doc, (d) => {
        const text = write(d);
        const scan = scanInput(text, 64);
        const want = reference(d);
        expect(scan.duplicate).toBe(want.duplicate);
        expect(scan.inexactParams ?? new Map()).toEqual(want.numbers);
      }),
      { numRuns: 3000 },
    );
  });
});
