import { describe, expect, it } from 'vitest';
import { closedOnFailure, errorMessage, failClosed, GavelError } from '../../src/lib/errors.js';

/** The fail-closed wrap: a GavelError already names what failed and passes as it is; anything else gets the code, its cause kept. */
describe('failClosed', () => {
  it('passes a GavelError through unchanged', () => {
    const own = new GavelError('usage_unavailable', 'the store is down');
    expect(failClosed(own, 'ledger_unavailable', 'other')).toBe(own);
  });

  it('wraps anything else in the code and message, keeping the cause for the log', () => {
    const cause = new Error('SQLITE_IOERR');
    const wrapped = failClosed(cause, 'approvals_unavailable', 'approval state could not be read; failing closed');
    expect(wrapped).toBeInstanceOf(GavelError);
    expect([wrapped.code, wrapped.status, wrapped.message]).toEqual([
      'approvals_unavailable',
      'UNAVAILABLE',
      'approval state could not be read; failing closed',
    ]);
    expect(wrapped.cause).toBe(cause);
  });

  it('closedOnFailure returns what the step returns, and rethrows its failure wrapped', async () => {
    expect(await closedOnFailure('usage_unavailable', 'x', async () => 7)).toBe(7);
    const thrown = new Error('gone');
    await expect(closedOnFailure('usage_unavailable', 'usage state could not be read', async () => Promise.reject(thrown))).rejects.toMatchObject({
      code: 'usage_unavailable',
      message: 'usage state could not be read',
      cause: thrown,
    });
  });
});

/** What a log line or a refusal says of something thrown: an Error's message, an object's `message`, else its text. */
describe('errorMessage', () => {
  it.each([
    [new RangeError('out of bounds'), 'out of bounds'],
    [{ message: 'from a wasm abort' }, 'from a wasm abort'],
    [{ message: 7 }, '7'],
    ['a thrown string', 'a thrown string'],
    [{ code: 'x' }, '[object Object]'],
    [null, 'null'],
    [undefined, 'undefined'],
    [42, '42'],
  ])('%o says %j', (thrown, said) => {
    expect(errorMessage(thrown)).toBe(said);
  });
});
