import { describe, expect, it } from 'vitest';
import { checkHeaderBounds, headerFactsOf, MAX_HEADER_FIELD_BYTES } from '../../src/engine/header-facts.js';
import { checkInputValue, parseInputJson, scanDepth } from '../../src/engine/input.js';
import { GavelError } from '../../src/lib/errors.js';

/**
 * Input bounds at their edges, unit by unit: size and depth limits are inclusive,
 * values a ledger cannot hash are refused naming where they are (as a JSON
 * pointer), and the identity written to the ledger header is read from the input
 * and bounded.
 */

const limits = { maxInputBytes: 64, maxDepth: 3 };
const bytes = (text: string) => Buffer.from(text, 'utf8');

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof GavelError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('accepted');
}

describe('size', () => {
  it('exactly the limit is accepted; one byte more is refused, naming both', () => {
    const at = `{"a":"${'x'.repeat(limits.maxInputBytes - 8)}"}`;
    expect(bytes(at)).toHaveLength(64);
    expect(parseInputJson(bytes(at), limits)).toEqual({ a: 'x'.repeat(56) });
    const over = `{"a":"${'x'.repeat(57)}"}`;
    expect(refusal(() => parseInputJson(bytes(over), limits))).toEqual({ code: 'input_too_large', message: 'input is 65 bytes, over the limit of 64 bytes' });
  });

  it('structured input is measured as its JSON text', () => {
    expect(checkInputValue({ a: 'x'.repeat(56) }, limits)).toEqual({ a: 'x'.repeat(56) });
    // null members (a Struct's null_value) are values like any other.
    expect(checkInputValue({ a: null, b: { c: null } }, limits)).toEqual({ a: null, b: { c: null } });
    expect(refusal(() => checkInputValue({ a: 'x'.repeat(57) }, limits)).code).toBe('input_too_large');
  });
});

describe('depth', () => {
  it('exactly the limit is accepted; one level more is refused, naming both', () => {
    expect(parseInputJson(bytes('{"a":{"b":[1]}}'), limits)).toEqual({ a: { b: [1] } });
    expect(refusal(() => parseInputJson(bytes('{"a":{"b":[[1]]}}'), limits))).toEqual({
      code: 'input_too_deep',
      message: 'input nests 4 levels deep, over the limit of 3',
    });
  });

  it('structured input: the same edge', () => {
    expect(checkInputValue({ a: { b: [1] } }, limits)).toEqual({ a: { b: [1] } });
    expect(refusal(() => checkInputValue({ a: { b: [[1]] } }, limits))).toEqual({
      code: 'input_too_deep',
      message: 'input nests 4 levels deep, over the limit of 3',
    });
  });

  it('a very deep structure is measured only up to one past the limit', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(refusal(() => checkInputValue(deep, limits))).toEqual({ code: 'input_too_deep', message: 'input nests 4 levels deep, over the limit of 3' });
  });

  it('scanDepth ignores brackets in strings, including after escaped quotes and backslashes', () => {
    expect(scanDepth('{}')).toBe(1);
    expect(scanDepth('{"a":"\\"[[["}')).toBe(1);
    expect(scanDepth('{"a":"\\\\","b":[[1]]}')).toBe(3);
    expect(scanDepth('{"a":"x\\\\"}[')).toBe(1);
    expect(scanDepth('[][][]')).toBe(1);
    expect(scanDepth('')).toBe(0);
    expect(scanDepth('"{"')).toBe(0);
  });
});

describe('values a ledger cannot hash faithfully', () => {
  it('a number out of range is refused naming its pointer, escaped', () => {
    expect(refusal(() => parseInputJson(bytes('{"a/b":{"c~d":[1,1e999]}}'), { maxInputBytes: 1000, maxDepth: 10 }))).toEqual({
      code: 'invalid_input',
      message: 'input /a~1b/c~0d/1 is a number out of range',
    });
  });

  it('a lone surrogate in a value is refused naming its pointer', () => {
    expect(refusal(() => parseInputJson(bytes('{"ok":"\\ud83d\\ude00","p":{"q":"x\\ud800"}}'), { maxInputBytes: 1000, maxDepth: 10 }))).toEqual({
      code: 'invalid_input',
      message: 'input /p/q holds a lone UTF-16 surrogate (\\uD800-\\uDFFF)',
    });
  });

  it('a lone surrogate in a key is refused naming the object that holds it', () => {
    expect(refusal(() => checkInputValue({ outer: { '\udc00key': 1 } }, { maxInputBytes: 1000, maxDepth: 10 }))).toEqual({
      code: 'invalid_input',
      message: 'input /outer has a key with a lone UTF-16 surrogate',
    });
    expect(refusal(() => checkInputValue({ '\ud800': 1 }, { maxInputBytes: 1000, maxDepth: 10 })).message).toBe(
      'input / has a key with a lone UTF-16 surrogate',
    );
  });

  it('a well-formed pair and ordinary text pass', () => {
    expect(checkInputValue({ emoji: '😀', k: { '😀': 'x' } }, { maxInputBytes: 1000, maxDepth: 10 })).toEqual({ emoji: '😀', k: { '😀': 'x' } });
  });
});

describe('the identity written to the ledger header', () => {
  it('is read from the input as received, the resource being the model or else the tool', () => {
    const input = { subject: { id: 'u1', type: 'agent', team: 't', cost_center: 'c' }, action: { type: 'tool.call', tool: 'search' } };
    expect(headerFactsOf(input, { requestId: 'r', caller: 'peer' })).toEqual({
      subjectId: 'u1',
      subjectType: 'agent',
      team: 't',
      costCenter: 'c',
      actionType: 'tool.call',
      resource: 'search',
      requestId: 'r',
      caller: 'peer',
    });
    expect(headerFactsOf({ action: { type: 'model.invoke', model: 'm', tool: 'x' } }, { requestId: '', caller: '' })).toMatchObject({
      resource: 'm',
      subjectId: '',
      subjectType: '',
    });
  });

  it('each field may hold 256 UTF-8 bytes, not one more, and the refusal names the field', () => {
    const base = headerFactsOf({}, { requestId: '', caller: '' });
    expect(() => checkHeaderBounds({ ...base, team: 'x'.repeat(MAX_HEADER_FIELD_BYTES) })).not.toThrow();
    expect(refusal(() => checkHeaderBounds({ ...base, resource: 'x'.repeat(257) }))).toEqual({
      code: 'invalid_input',
      message: 'action.model / action.tool is 257 bytes; at most 256 are recorded',
    });
    // Bytes, not characters: 129 two-byte characters are 258 bytes.
    expect(refusal(() => checkHeaderBounds({ ...base, subjectType: 'é'.repeat(129) })).message).toBe('subject.type is 258 bytes; at most 256 are recorded');
  });
});
