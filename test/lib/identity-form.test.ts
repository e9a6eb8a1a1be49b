import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { identityForm } from '../../src/lib/identity-form.js';

/** The definition (lib/identity-form.ts): NFKC, full case folding, NFKC again. */
const definition = (name: string) => name.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');

describe('identityForm', () => {
  it('is the definition on every string, ASCII (its fast path) or not', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii' }), (s) => identityForm(s) === definition(s)),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => identityForm(s) === definition(s)),
      { numRuns: 2_000 },
    );
  });

  it('folds case and compatibility forms, ASCII and not', () => {
    expect(identityForm('Fiona')).toBe('fiona');
    expect(identityForm('CC-100')).toBe('cc-100');
    expect(identityForm('ｆｉｏｎａ')).toBe('fiona');
    expect(identityForm('Straße')).toBe('strasse');
  });
});
