import { describe, expect, it } from 'vitest';
import { scanViewOf, withScanView } from '../../src/engine/scan-view.js';
import type { JsonObject } from '../../src/lib/json.js';

/** The normalised view of an input the policy receives as context.scan (README "The input document"). */
describe('scanViewOf', () => {
  it('lists the strings and keys under /content and /action/params that normalise differently, by pointer', () => {
    const input: JsonObject = {
      subject: { id: 'ｆｉｏｎａ' },
      action: { type: 'tool.call', params: { 'a/b': { 'c~d': ['plain', '٤١١١'] }, n: 4111111111111111 } },
      content: { prompt: 'ign\u043ere', ｍｅｔａ: { x: 'y' } },
      context: { note: '４' },
    };
    expect(scanViewOf(input)).toEqual({
      texts: { '/action/params/a~1b/c~0d/1': '4111' },
      keys: { '/content/ｍｅｔａ': 'meta' },
      skeletons: ['ignore'],
    });
  });

  it('is undefined when nothing there changes', () => {
    expect(scanViewOf({ content: { prompt: 'Grüße' }, action: { params: { q: 'plain' } }, context: { x: '４' } })).toBeUndefined();
    expect(scanViewOf({ action: 'x' })).toBeUndefined();
  });
});

describe('withScanView', () => {
  it('sets context.scan, replacing a caller\u2019s own', () => {
    const input: JsonObject = { content: { prompt: '４' }, context: { now: 't', scan: { texts: {} } } };
    expect(withScanView(input)).toEqual({
      content: { prompt: '４' },
      context: { now: 't', scan: { texts: { '/content/prompt': '4' }, keys: {}, skeletons: [] } },
    });
    expect(input.context).toEqual({ now: 't', scan: { texts: {} } });
  });

  it('adds a context when there is none', () => {
    expect(withScanView({ content: { prompt: '４' } })).toEqual({
      content: { prompt: '４' },
      context: { scan: { texts: { '/content/prompt': '4' }, keys: {}, skeletons: [] } },
    });
  });

  it("removes a caller's context.scan when nothing needs normalising", () => {
    expect(withScanView({ content: { prompt: 'x' }, context: { now: 't', scan: { texts: { '/content/prompt': 'hello' } } } })).toEqual({
      content: { prompt: 'x' },
      context: { now: 't' },
    });
  });

  it('returns the input itself when there is nothing to add or remove', () => {
    const input: JsonObject = { content: { prompt: 'x' }, context: { now: 't' } };
    expect(withScanView(input)).toBe(input);
    const noContext: JsonObject = { content: { prompt: 'x' } };
    expect(withScanView(noContext)).toBe(noContext);
  });

  it('leaves a context that is not an object alone', () => {
    const input: JsonObject = { content: { prompt: '４' }, context: 'x' };
    expect(withScanView(input)).toBe(input);
  });
});
