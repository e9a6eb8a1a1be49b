import { expect } from 'vitest';
import { GavelError } from '../../src/lib/errors.js';

/** The GavelError a call was refused with; fails the test if it resolved or threw anything else. */
export async function refusal(p: Promise<unknown>): Promise<GavelError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GavelError);
  return err as GavelError;
}

/** The GavelError a synchronous call throws (the test fails if it returns or throws anything else). */
export function refusalOf(fn: () => unknown): GavelError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GavelError);
    return err as GavelError;
  }
  throw new Error('the call was accepted; a GavelError was expected');
}
