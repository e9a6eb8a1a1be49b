import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { GavelError } from '../../src/lib/errors.js';
import { scanDepth } from '../../src/engine/input.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';

let core: Runtime;
const allow = { result: { decision: 'allow' } };

beforeAll(async () => {
  core = await startRuntime({
    bundles: FIXTURE_BUNDLES,
    ledger: ':memory:',
    engine: { defaultEntrypoint: 'fixtures/echo', maxInputBytes: 4096, maxDepth: 8 },
    usage: false,
  });
});
afterAll(() => core.stop());

async function codeOf(input: { json: Uint8Array } | { value: unknown }, policy = ''): Promise<string> {
  try {
    await core.decide({ policy, input, requestId: '', caller: 'test' });
  } catch (err) {
    if (err instanceof GavelError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'ok';
}

describe('bad input is refused with a stable code and nothing recorded', () => {
  it.each([
    ['not JSON', Buffer.from('{"a":'), 'invalid_input: input_json is not valid JSON'],
    ['an array', Buffer.from('[1,2]'), 'invalid_input: input must be a JSON object, got an array'],
    ['a string', Buffer.from('"x"'), 'invalid_input: input must be a JSON object, got a string'],
    ['null', Buffer.from('null'), 'invalid_input: input must be a JSON object, got null'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 'invalid_input: input_json is not valid UTF-8'],
    ['too large', Buffer.from(JSON.stringify({ pad: 'x'.repeat(5000) })), 'input_too_large'],
    ['too deep', Buffer.from(`${'{"a":'.repeat(9)}1${'}'.repeat(9)}`), 'input_too_deep'],
  ])('%s', async (_name, bytes, expected) => {
    const before = core.parts.ledger.size;
    expect(await codeOf({ json: bytes })).toContain(expected);
    expect(core.parts.ledger.size).toBe(before);
  });

  it('structured input is bounded the same way', async () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 10; i++) deep = { a: deep };
    expect(await codeOf({ value: deep })).toContain('input_too_deep');
    expect(await codeOf({ value: [1] })).toContain('input must be a JSON object');
    expect(await codeOf({ value: allow })).toBe('ok');
  });

  it('an unknown entrypoint lists the known ones', async () => {
    const msg = await codeOf({ json: Buffer.from('{}') }, 'gavel/nope');
    expect(msg).toContain('unknown_entrypoint');
    expect(msg).toContain('fixtures/echo');
  });

  it('brackets inside strings do not count towards depth', () => {
    expect(scanDepth('{"a":"[[[[{{{{\\"]]]"}')).toBe(1);
    expect(scanDepth('[[[]]]')).toBe(3);
  });
});
