import { inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deflateHead, deflateText, finishDeflate, headFromWire, headOnWire } from '../../src/lib/deflate-head.js';

const inflate = (bytes: Uint8Array) => inflateRawSync(bytes).toString('utf8');

describe('a DEFLATE stream made in two parts', () => {
  it('a head deflated up to a sync flush, then the rest as stored blocks, inflates to the whole text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 300 }), (head, rest) => {
        expect(inflate(finishDeflate(deflateHead(head).bytes, rest))).toBe(head + rest);
      }),
      { numRuns: 300 },
    );
  });

  it('a rest past one stored block (64 KiB) is split into several, only the last final', () => {
    const head = '{"input":'.repeat(50);
    const rest = 'é'.repeat(70_000); // 140,000 UTF-8 bytes: three stored blocks
    const stored = finishDeflate(deflateHead(head).bytes, rest);
    expect(inflate(stored)).toBe(head + rest);
    // Each block's header costs 5 bytes: the rest is copied, not compressed.
    expect(stored.length).toBe(deflateHead(head).bytes.length + 140_000 + 3 * 5);
    // Cut before its last block, the stream has no final block and does not inflate.
    expect(() => inflateRawSync(stored.subarray(0, stored.length - 10_000))).toThrow(/unexpected end/i);
  });

  it('an empty rest still ends the stream; the head alone is not a finished stream', () => {
    const { bytes, text } = deflateHead('{"a":1');
    expect(text).toBe('{"a":1');
    expect(inflate(finishDeflate(bytes, ''))).toBe('{"a":1');
    expect(() => inflateRawSync(bytes)).toThrow(/unexpected end/i);
  });

  it('the head owns its bytes (a message copies no more than them), and compresses as the whole text would', () => {
    const text = JSON.stringify({ usage: Array.from({ length: 40 }, (_, i) => ({ day: i, tokens: 0, cost: 0 })) });
    const { bytes } = deflateHead(text);
    expect(bytes.byteLength).toBe(bytes.buffer.byteLength);
    expect(bytes.length).toBeLessThan(text.length / 4);
    expect(Math.abs(bytes.length - deflateText(text).length)).toBeLessThan(12);
    expect(inflate(deflateText(text))).toBe(text);
  });

  it('a head crosses threads as its bytes and length beside the text it starts, and only beside one it starts', () => {
    const head = deflateHead('{"input":{"a":1},"result":{"b":2}');
    const grown = '{"input":{"a":1},"result":{"b":2},"usage":{"c":3}}';
    const wire = headOnWire(head, grown)!;
    expect(wire).toEqual({ bytes: head.bytes, length: head.text.length });
    expect(headFromWire(wire, grown)).toEqual(head);
    expect(inflate(finishDeflate(wire.bytes, grown.slice(wire.length)))).toBe(grown);
    // A payload that gained a first key no longer starts with the head: nothing to send, it is deflated whole.
    expect(headOnWire(head, '{"approval":{"d":4},"input":{"a":1},"result":{"b":2}}')).toBeUndefined();
    expect(headOnWire(head, '{"input":{"a":1}')).toBeUndefined();
  });
});
