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
