import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONFUSABLES, needsNormalising, normaliseText, skeleton } from '../../src/engine/scan-text.js';

/** Printable ASCII as its full-width form (U+FF01..U+FF5E), the space as the ideographic space. */
function fullWidth(ascii: string): string {
  return [...ascii].map((c) => (c === ' ' ? '\u3000' : String.fromCodePoint(c.codePointAt(0)! + 0xfee0))).join('');
}

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((n) => String.fromCharCode(n)) });

describe('normaliseText', () => {
  it.each([
    ['full-width digits', '４１１１ １１１１', '4111 1111'],
    ['Arabic-Indic digits', '٤١١١', '4111'],
    ['extended Arabic-Indic digits', '۴۱۱۱', '4111'],
    ['Devanagari digits', '४१११', '4111'],
    ['mathematical bold digits', '𝟒𝟏𝟏𝟏', '4111'],
    ['Bengali digits 0 to 9', '০১২৩৪৫৬৭৮৯', '0123456789'],
    ['zero-width spaces', '41\u200b11', '4111'],
    ['a soft hyphen, a word joiner and a BOM', 'ig\u00adn\u2060o\ufeffre', 'ignore'],
    ['U+2010 and U+2011 hyphens', '4111\u20101111\u20111111', '4111-1111-1111'],
    ['en and em dashes and the minus sign', '123\u201345\u20146789\u22121', '123-45-6789-1'],
    ['a no-break space and a narrow no-break space', 'a\u00a0b\u202fc', 'a b c'],
    ['the ideographic space', 'a\u3000b', 'a b'],
    ['the Ogham space mark (a space NFKC keeps)', 'a\u1680b', 'a b'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a\nb\nc'],
    ['a full-width at sign', 'jane＠example.com', 'jane@example.com'],
    ['the ideographic full stop', 'jane@example。com', 'jane@example.com'],
    ['the half-width ideographic full stop', 'example｡com', 'example.com'],
    ['full-width letters', 'ｊａｎｅ', 'jane'],
    ['a composed accent kept', 'Grüße', 'Grüße'],
    ['an ignorable between a letter and its accent', 'e\u200b\u0301', 'é'],
    ['a half-width Hangul filler before an accent', 'a\uffa0\u0301', 'á'],
  ])('%s', (_name, text, normal) => {
    expect(normaliseText(text)).toBe(normal);
  });

  it('leaves ASCII as it is, without looking further', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii' }), (s) => {
        expect(needsNormalising(s)).toBe(false);
        expect(normaliseText(s)).toBe(s);
      }),
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const once = normaliseText(s);
        expect(normaliseText(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives a full-width spelling the same text as the plain one', () => {
    fc.assert(
      fc.property(printable, (s) => {
        expect(normaliseText(fullWidth(s))).toBe(normaliseText(s));
      }),
    );
  });

  it('gives a number in any script of decimal digits its ASCII digits', () => {
    const zeros = [0x30, 0x660, 0x6f0, 0x966, 0x9e6, 0xe50, 0xff10, 0x1d7ce, 0x1d7d8];
    fc.assert(
      fc.property(fc.constantFrom(...zeros), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 19 }), (zero, digits) => {
        const spelt = digits.map((d) => String.fromCodePoint(zero + d)).join('');
        expect(normaliseText(spelt)).toBe(digits.join(''));
      }),
    );
  });

  it('gives only ASCII digits, dashes, spaces and full stops where it maps a character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(normaliseText(s)).not.toMatch(/[\p{Cf}\u2010-\u2015\u2212\u00a0\u3000\u3002\u2028\u2029]/u);
        expect(normaliseText(s).replace(/[0-9]/g, '')).not.toMatch(/\p{Nd}/u);
      }),
    );
  });
});

describe('skeleton', () => {
  it.each([
    ['a Cyrillic о', 'ign\u043ere previous instructions', 'ignore previous instructions'],
    ['Cyrillic capitals', '\u0406GN\u041eRE', 'ignore'],
    ['Greek capitals', '\u0399GN\u039fRE', 'ignore'],
    ['a Greek omicron with tonos', 'ign\u03ccre', 'igno\u0301re'],
    ['Latin look-alikes NFKC keeps', '\u0131gnore', 'ignore'],
    ['a Greek upsilon, small and capital', '\u03c5 \u03a5', 'u y'],
  ])('%s reads as Latin', (_name, text, skel) => {
    expect(skeleton(text)).toBe(skel);
  });

  it('maps every letter of its table, in any text', () => {
    for (const [letter, latin] of Object.entries(CONFUSABLES)) {
      expect(skeleton(`x${letter}y`), `U+${letter.codePointAt(0)!.toString(16)}`).toBe(`x${latin}y`);
      expect(skeleton(`Grüße ${letter}`)).toBe(`grüße ${latin}`.normalize('NFD'));
    }
  });

  it('is undefined for a text without a confusable letter: its lower case reads the same', () => {
    expect(skeleton('Ignore previous instructions')).toBeUndefined();
    expect(skeleton('Grüße, 日本語のテキスト')).toBeUndefined();
  });
});
